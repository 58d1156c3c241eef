# Clustered bars, log y: one cluster per row (workload [size]), one bar per strategy.
# Called by bench/workloads/run.sh:
#   gnuplot -e "out='x.png'; file='d.dat'; colors='#c00000 #00a040'; titles='stop-and-copy hybrid';
#               ylab='...'; ptitle='...'" bars.gp
# d.dat: rows of "\"label\" v1 v2 ..." (one value per strategy, ? = no value).
set terminal pngcairo size 1100,650 font ",10"
set output out
set title ptitle
set ylabel ylab
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set format y "%g"
set grid ytics
set key outside right top box
set datafile missing "?"
set xtics nomirror rotate by -30
n = words(titles)
plot for [i=1:n] file using (column(i + 1) > 0 ? column(i + 1) : 1/0):xtic(1) title word(titles, i) lc rgb word(colors, i)
