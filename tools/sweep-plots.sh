#!/bin/sh
# sweep-plots.sh CSV DIR [CHIPS]: plots of a sweep's CSV (cimsim sweep --csv)
# as PNG and SVG in DIR, with gnuplot (Debian: gnuplot-nox):
#   NAME-scaling     throughput and energy per token against chips
#   NAME-latency     TTFT and TPOT (medians) against chips
#   NAME-strategies  every split of one chip count (CHIPS, else the count
#                    with the most points that ran): throughput and energy
#   NAME-pareto      throughput against energy per token, the front joined
#   NAME-accuracy    the chips' expected relative error of an MVM output
#                    against energy per token, when a point's chip errs
#                    (mvm_relative_error above 0: docs/accuracy.md)
# NAME is the CSV's file name without .csv.  Scaling and latency plots use
# the best point of each chip count and each group of axis values; they are
# made when the CSV has two chip counts or more.  Only the label, group and
# axis columns may hold text; cimsim writes them without commas, so the
# columns are split at commas (the last column, the reason, is not read).
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: sh tools/sweep-plots.sh SWEEP.csv DIR [CHIPS]" >&2
	exit 2
fi
csv=$1
dir=$2
want_chips=${3:-}
[ -r "$csv" ] || { echo "sweep-plots: $csv: cannot read the CSV" >&2; exit 2; }
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "sweep-plots: gnuplot is not installed, so no plots were made; install" >&2
	echo "sweep-plots: gnuplot-nox (apt-get install gnuplot-nox), then run" >&2
	echo "sweep-plots:     sh tools/sweep-plots.sh $csv $dir" >&2
	exit 0
fi
mkdir -p "$dir"
name=$(basename "$csv" .csv)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# col NAME: the column number of NAME in the header.
col() {
	head -n 1 "$csv" | tr ',' '\n' | awk -v k="$1" '$0 == k { print NR; exit }'
}
for c in point label group status chips tp pp dp generated_tokens_per_s \
	energy_per_token_j ttft_p50_s tpot_p50_s best pareto; do
	n=$(col "$c")
	[ -n "$n" ] || { echo "sweep-plots: $csv: no column '$c': not a cimsim sweep CSV" >&2; exit 2; }
	eval "c_$c=$n"
done
# Every run point: group, chips, split, tokens/s, mJ/token, TTFT ms, TPOT ms,
# best, pareto, label (tab-separated).
awk -F, -v OFS='\t' -v g="$c_group" -v st="$c_status" -v ch="$c_chips" -v tp="$c_tp" \
	-v pp="$c_pp" -v dp="$c_dp" -v tps="$c_generated_tokens_per_s" \
	-v e="$c_energy_per_token_j" -v ttft="$c_ttft_p50_s" -v tpot="$c_tpot_p50_s" \
	-v b="$c_best" -v p="$c_pareto" -v l="$c_label" '
	NR > 1 && $st == "ran" {
		split_ = "tp" $tp " pp" $pp; if ($dp > 1) split_ = split_ " dp" $dp
		print $g, $ch, split_, $tps, $e * 1e3, $ttft * 1e3, $tpot * 1e3, $b, $p, $l
	}' "$csv" > "$tmp/ran.tsv"
if [ ! -s "$tmp/ran.tsv" ]; then
	echo "sweep-plots: $csv: no point ran; nothing to plot" >&2
	exit 1
fi
groups=$(cut -f1 "$tmp/ran.tsv" | awk '!seen[$0]++' | wc -l)
nchips=$(cut -f2 "$tmp/ran.tsv" | sort -un | wc -l)

# gnuplot's header for both terminals: plot FILE.gp into DIR/NAME-WHAT.{png,svg}.
render() {
	what=$1
	for t in png svg; do
		if [ $t = png ]; then
			term="set terminal pngcairo size 1100,500 font 'sans,10'"
		else
			term="set terminal svg size 1100,500 font 'sans,10' dynamic"
		fi
		{
			echo "$term"
			echo "set output '$dir/$name-$what.$t'"
			cat "$tmp/$what.gp"
		} | gnuplot || { echo "sweep-plots: gnuplot failed on $what" >&2; exit 1; }
		echo "$dir/$name-$what.$t"
	done
}

# The best point of each (group, chips), one gnuplot data block per group.
awk -F'\t' '$8 == 1' "$tmp/ran.tsv" | sort -t "$(printf '\t')" -k1,1 -k2,2n |
	awk -F'\t' 'BEGIN { OFS = "\t" }
	$1 != last { if (NR > 1) printf "\n\n"; print "\"" $1 "\""; last = $1 }
	{ print $2, $4, $5, $6, $7, "\"" $3 "\"" }' > "$tmp/best.dat"

if [ "$nchips" -ge 2 ]; then
	cat > "$tmp/scaling.gp" <<EOF
set datafile separator '\t'
set multiplot layout 1,2 title "$name: the best split of each chip count"
set grid
set key top left
set xlabel 'chips'
set ylabel 'generated tokens/s'
plot for [i=0:$((groups - 1))] '$tmp/best.dat' index i using 1:2:xtic(1) with linespoints lw 2 pt 7 title columnheader(1)
set ylabel 'energy per generated token (mJ)'
set key top right
plot for [i=0:$((groups - 1))] '$tmp/best.dat' index i using 1:3:xtic(1) with linespoints lw 2 pt 7 title columnheader(1)
unset multiplot
EOF
	render scaling
	cat > "$tmp/latency.gp" <<EOF
set datafile separator '\t'
set multiplot layout 1,2 title "$name: latency of the best split of each chip count (medians)"
set grid
set key top right
set xlabel 'chips'
set ylabel 'time to first token (ms)'
plot for [i=0:$((groups - 1))] '$tmp/best.dat' index i using 1:4:xtic(1) with linespoints lw 2 pt 7 title columnheader(1)
set ylabel 'time per output token (ms)'
plot for [i=0:$((groups - 1))] '$tmp/best.dat' index i using 1:5:xtic(1) with linespoints lw 2 pt 7 title columnheader(1)
unset multiplot
EOF
	render latency
fi

# Strategies: the splits of one chip count, a cluster of bars per split,
# one bar per group.
if [ -z "$want_chips" ]; then
	want_chips=$(cut -f2 "$tmp/ran.tsv" | sort -n | uniq -c | sort -k1,1nr -k2,2n |
		awk 'NR == 1 { print $2 }')
fi
awk -F'\t' -v c="$want_chips" '$2 == c' "$tmp/ran.tsv" > "$tmp/one.tsv"
if [ -s "$tmp/one.tsv" ]; then
	# A table: split, then tokens/s and mJ/token of each group.
	awk -F'\t' '
	{ if (!($1 in gi)) { gi[$1] = ++ng; gname[ng] = $1 }
	  if (!($3 in si)) { si[$3] = ++ns; sname[ns] = $3 }
	  t[si[$3], gi[$1]] = $4; e[si[$3], gi[$1]] = $5 }
	END {
		printf "split"
		for (g = 1; g <= ng; g++) printf "\t\"%s\"", gname[g]
		for (g = 1; g <= ng; g++) printf "\t\"%s\"", gname[g]
		printf "\n"
		for (s = 1; s <= ns; s++) {
			printf "\"%s\"", sname[s]
			for (g = 1; g <= ng; g++) printf "\t%s", ((s, g) in t) ? t[s, g] : "NaN"
			for (g = 1; g <= ng; g++) printf "\t%s", ((s, g) in e) ? e[s, g] : "NaN"
			printf "\n"
		}
	}' "$tmp/one.tsv" > "$tmp/one.dat"
	ng=$(cut -f1 "$tmp/one.tsv" | awk '!seen[$0]++' | wc -l)
	cat > "$tmp/strategies.gp" <<EOF
set datafile separator '\t'
set multiplot layout 1,2 title "$name: every split of $want_chips chips"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top left
set xtics rotate by -30
set yrange [0:*]
set ylabel 'generated tokens/s'
plot for [g=2:$((ng + 1))] '$tmp/one.dat' using g:xtic(1) title columnheader(g)
set ylabel 'energy per generated token (mJ)'
set key top right
plot for [g=$((ng + 2)):$((2 * ng + 1))] '$tmp/one.dat' using g:xtic(1) title columnheader(g)
unset multiplot
EOF
	render strategies
fi

# Pareto: every point, the front joined in order of energy.
awk -F'\t' '$9 == 1' "$tmp/ran.tsv" | sort -t "$(printf '\t')" -k5,5g > "$tmp/front.tsv"
# One label where several points of the front coincide.
awk -F'\t' '!seen[$4 FS $5]++' "$tmp/front.tsv" > "$tmp/front-labels.tsv"
cat > "$tmp/pareto.gp" <<EOF
set datafile separator '\t'
set title "$name: throughput against energy per token (front: no point is better on both)"
set grid
set key top right
set offsets graph 0.05, graph 0.3, graph 0.1, graph 0.1
set xlabel 'energy per generated token (mJ)'
set ylabel 'generated tokens/s'
plot '$tmp/ran.tsv' using 5:4 with points pt 6 ps 1.2 lc rgb '#888888' title 'points', \\
     '$tmp/front.tsv' using 5:4 with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'Pareto front', \\
     '$tmp/front-labels.tsv' using 5:4:10 with labels offset char 1,0.6 left font ',8' notitle
EOF
render pareto

# Accuracy against energy: the points whose chips err.
c_acc=$(col mvm_relative_error)
if [ -n "$c_acc" ]; then
	awk -F, -v OFS='\t' -v st="$c_status" -v e="$c_energy_per_token_j" -v a="$c_acc" \
		-v l="$c_label" 'NR > 1 && $st == "ran" && $a != "" && $a + 0 > 0 {
			print $e * 1e3, $a * 100, $l }' "$csv" > "$tmp/acc.tsv"
	if [ -s "$tmp/acc.tsv" ]; then
		cat > "$tmp/accuracy.gp" <<EOF
set datafile separator '\t'
set title "$name: accuracy against energy per token"
set grid
set key off
set logscale y
set offsets graph 0.05, graph 0.3, graph 0.1, graph 0.1
set xlabel 'energy per generated token (mJ)'
set ylabel 'relative RMS error of an MVM output (%)'
plot '$tmp/acc.tsv' using 1:2 with points pt 7 ps 1.2 lc rgb '#2c7fb8', \\
     '$tmp/acc.tsv' using 1:2:3 with labels offset char 1,0.6 left font ',8' noenhanced
EOF
		render accuracy
	fi
fi
