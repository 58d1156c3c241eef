# KV client throughput against time through a migration, one panel per run (same axes).
# Called by bench/kv/plot.sh:
#   gnuplot -e "out='x.png'; file='x.dat'; n=2; colors='#00a040 #c00000'; title1='...'; title2='...';
#               sws='1.2 0.4'; ends='2.9 3.1'; downs='110 2700'; xmin=-2; xmax=10; ymax=9000;
#               bucket=50; ptitle='...'" timeline.gp
# file: block i-1 (blocks separated by two blank lines) holds run i's "T_S REQ_PER_S" rows,
# T_S = start of the bucket in seconds since that run's migrate command. sws: the switchover
# (enclave resumed at the destination) per run, s, or -1 if unknown; ends: migrate returned, s;
# downs: the tool's downtime, ms (not drawn if not positive), drawn as a band that ends at the switchover.
set terminal pngcairo size 1200, 380 * n + 60 font ",10"
set output out
set multiplot layout n, 1 title ptitle font ",12"
set xrange [xmin:xmax]
set yrange [0:ymax]
set grid
set xlabel "time since the migrate command (s)"
set ylabel sprintf("requests completed / s (%g ms buckets)", bucket)
set key outside right top box
do for [i=1:n] {
    unset object
    unset arrow
    sw = word(sws, i) + 0.0
    en = word(ends, i) + 0.0
    dn = word(downs, i) / 1000.0
    set title value(sprintf("title%d", i))
    set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lw 1.5 lc rgb "#404040" front
    set arrow 2 from en, graph 0 to en, graph 1 nohead dt 3 lw 1.5 lc rgb "#404040" front
    if (sw >= 0) {
        if (dn > 0) {
            set object 1 rect from sw - dn, graph 0 to sw, graph 1 behind fc rgb "#f4c8c8" fs solid 1.0 noborder
        }
        set arrow 3 from sw, graph 0 to sw, graph 1 nohead lw 1.5 lc rgb "#a00000" front
    }
    plot file index (i - 1) using 1:2 with steps lw 1.5 lc rgb word(colors, i) title "client throughput", \
         NaN with lines dt 2 lw 1.5 lc rgb "#404040" title "migrate command starts", \
         NaN with lines lw 1.5 lc rgb "#a00000" title "switchover (resumed at destination)", \
         NaN with boxes fs solid 1.0 noborder fc rgb "#f4c8c8" title "downtime (tool's figure)", \
         NaN with lines dt 3 lw 1.5 lc rgb "#404040" title "migrate command returns"
}
unset multiplot
