# A metric against heap size, one line per series; called by bench/live/run.sh:
#   gnuplot -e "out='x.png'; files='a.dat b.dat'; colors='#c00000 #0060c0'; dashes='1 2';
#               ylab='...'; logy=1; target=10; ttitle='...'; ptitle='...'; xmax=8" size.gp
# Each data file: a header line `size "series title"`, then "SIZE_GiB VALUE" rows.
# target > 0 draws a horizontal dashed line at that value, titled ttitle.
set terminal pngcairo size 1000,650 font ",10"
set output out
set title ptitle
set xlabel "heap data (GiB, memstress -s; heap = data + 1 GiB)"
set ylabel ylab
set grid
set key outside right top box
set xrange [0.5:xmax * 1.15]
set xtics 1
if (xmax > 4) {
    set logscale x 2
    set xrange [0.8:xmax * 1.25]
    set xtics (1, 2, 4, 8, 16)
}
if (logy) {
    set logscale y 10
    set format y "%g"
}
nf = words(files)
dashof(i) = int(word(dashes, i) + 0)
if (target > 0) {
    plot for [i=1:nf] word(files, i) using 1:2 title columnheader(2) with linespoints \
         lw 2 pt 7 ps 1.2 dt dashof(i) lc rgb word(colors, i), \
         target title ttitle with lines lw 1.5 dt 3 lc rgb "#000000"
} else {
    plot for [i=1:nf] word(files, i) using 1:2 title columnheader(2) with linespoints \
         lw 2 pt 7 ps 1.2 dt dashof(i) lc rgb word(colors, i)
}
