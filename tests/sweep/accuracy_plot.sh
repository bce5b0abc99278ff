#!/bin/sh
# accuracy_plot.sh OUT MPIRUN... -- CIMSIM: a sweep over cell bits and read
# noise on a chip whose cells err (tests/data/sweep/accuracy.yaml) carries
# each point's expected MVM error in its CSV and plots it against energy
# per token.  By the model of docs/accuracy.md, 1-bit cells err less than
# 2-bit ones at the same noise (the static errors' variance goes with
# Σ_k 4^(k·c) L² over a weight's slices: 21,845 against 39,321 in units of
# σ²), and more read noise errs more.  Skipped (77) without gnuplot.
out=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
cimsim=$2
command -v gnuplot >/dev/null 2>&1 || { echo "gnuplot is not installed"; exit 77; }
rm -rf "$out"
$mpirun -np 2 "$cimsim" sweep tests/data/sweep/accuracy.yaml --quiet --plots "$out" ||
	{ echo "the sweep failed"; exit 1; }
for t in png svg; do
	[ -s "$out/accuracy-accuracy.$t" ] || { echo "no $out/accuracy-accuracy.$t"; ls "$out"; exit 1; }
done
awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
	{ e[$c["chip.crossbar.cell_bits"] " " $c["chip.noise.read_sigma"]] = $c["mvm_relative_error"] }
	END {
		for (s in e) printf "%s: %s\n", s, e[s]
		if (!(e["1 0.0329"] > 0 && e["1 0.0329"] < e["2 0.0329"] && e["1 0.1"] < e["2 0.1"] &&
		      e["2 0.0329"] < e["2 0.1"])) { print "FAIL: errors not ordered as the model says"; exit 1 }
	}' "$out/accuracy.csv"
