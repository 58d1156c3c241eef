# App throughput against time around one migration per strategy; called by bench/live/run.sh:
#   gnuplot -e "out='x.png'; file='live-timeline.dat'; nblocks=3; colors='#c00000 #00a040 #0060c0';
#               ptitle='...'" timeline.gp
# file: one block per strategy, blocks separated by two blank lines; each block: a comment,
# a header `t_s "title"`, then "SECONDS_SINCE_MIGRATE PERCENT_OF_BASELINE" rows, where the
# value is memstress's write rate over the tick that starts at that time.
set terminal pngcairo size 1100,600 font ",10"
set output out
set title ptitle
set xlabel "time since the migrate command (s)"
set ylabel "write throughput (% of the same app without migration)"
set grid
set key outside right top box
set yrange [0:100<*<250]
set arrow from 0, graph 0 to 0, graph 1 nohead dt 2 lc rgb "#808080"
set label "migrate" at 0, graph 1.02 center
plot for [i=0:nblocks-1] file index i using 1:2 title columnheader(2) with steps \
         lw 1.5 lc rgb word(colors, i + 1), \
     100 title "no migration (100 %)" with lines dt 3 lw 1.5 lc rgb "#000000"
