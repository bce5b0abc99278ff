#!/bin/sh
# sweep_plots.sh OUTDIR MPIRUN... -- CIMSIM: `cimsim sweep --plots` writes
# the scaling, latency, strategy and Pareto plots of a study over 4 and 8
# chips as PNG and SVG.  Skipped (77) where gnuplot is not installed.
out=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
cimsim=$2
command -v gnuplot >/dev/null 2>&1 || { echo "gnuplot is not installed"; exit 77; }
rm -rf "$out"
$mpirun -np 8 "$cimsim" sweep tests/data/sweep/scaling.yaml --quiet --plots "$out" ||
	{ echo "the sweep failed"; exit 1; }
[ -s "$out/scaling.csv" ] || { echo "no CSV in $out"; exit 1; }
for p in scaling latency strategies pareto; do
	for t in png svg; do
		[ -s "$out/scaling-$p.$t" ] || { echo "no $out/scaling-$p.$t"; ls "$out"; exit 1; }
	done
done
head -c 8 "$out/scaling-pareto.png" | od -c | grep -q 'P   N   G' ||
	{ echo "scaling-pareto.png is not a PNG"; exit 1; }
grep -q '<svg' "$out/scaling-pareto.svg" || { echo "scaling-pareto.svg is not SVG"; exit 1; }
echo "8 plots in $out"
