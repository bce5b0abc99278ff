#!/bin/sh
# serving-plots.sh OUT CSV[=LABEL]...: plots of capacity searches (cimsim run
# --search-rate ... --csv CSV), one line per CSV, as OUT.png and OUT.svg,
# with gnuplot (Debian: gnuplot-nox): TTFT p50 and p99, TPOT p50 and p99,
# and the share of requests within the SLOs, against the offered rate
# (requests per second).  LABEL names a CSV's lines (default: its file name
# without .csv).  The rows of a search are in the order it tried them; the
# plots sort them by rate.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: sh tools/serving-plots.sh OUT CSV[=LABEL]..." >&2
	exit 2
fi
out=$1
shift
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "serving-plots: gnuplot is not installed, so no plots were made; install" >&2
	echo "serving-plots: gnuplot-nox (apt-get install gnuplot-nox)" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
plot_ttft="" plot_tpot="" plot_slo=""
for arg in "$@"; do
	csv=${arg%%=*}
	label=$(basename "$csv" .csv)
	[ "$csv" != "$arg" ] && label=${arg#*=}
	[ -r "$csv" ] || { echo "serving-plots: $csv: cannot read the CSV" >&2; exit 2; }
	header=$(head -n 1 "$csv")
	for c in rate_per_s slo_attainment ttft_p50_s ttft_p99_s tpot_p50_s tpot_p99_s; do
		printf '%s\n' "$header" | tr ',' '\n' | grep -qx "$c" ||
			{ echo "serving-plots: $csv: no column '$c': not a --search-rate CSV" >&2; exit 2; }
	done
	i=$((i + 1))
	# rate, TTFT p50, p99 (ms), TPOT p50, p99 (ms), attainment (%)
	awk -F, -v OFS='\t' '
		NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k; next }
		{ print $c["rate_per_s"], $c["ttft_p50_s"] * 1e3, $c["ttft_p99_s"] * 1e3,
			$c["tpot_p50_s"] * 1e3, $c["tpot_p99_s"] * 1e3, $c["slo_attainment"] * 100 }' \
		"$csv" | sort -g > "$tmp/$i.tsv"
	[ -s "$tmp/$i.tsv" ] || { echo "serving-plots: $csv: no rows" >&2; exit 2; }
	sep=""
	[ $i -gt 1 ] && sep=", "
	plot_ttft="$plot_ttft$sep'$tmp/$i.tsv' u 1:2 w lp lc $i dt 1 pt 7 t '$label p50', '' u 1:3 w lp lc $i dt 2 pt 6 t '$label p99'"
	plot_tpot="$plot_tpot$sep'$tmp/$i.tsv' u 1:4 w lp lc $i dt 1 pt 7 t '$label p50', '' u 1:5 w lp lc $i dt 2 pt 6 t '$label p99'"
	plot_slo="$plot_slo$sep'$tmp/$i.tsv' u 1:6 w lp lc $i pt 7 t '$label'"
done
mkdir -p "$(dirname "$out")"
for t in png svg; do
	if [ $t = png ]; then
		term="set terminal pngcairo size 1500,600 font 'sans,10'"
	else
		term="set terminal svg size 1500,600 font 'sans,10' dynamic"
	fi
	gnuplot <<GP || { echo "serving-plots: gnuplot failed" >&2; exit 1; }
$term
set output '$out.$t'
set datafile separator '\t'
set multiplot layout 1,3
set grid
set key below font ',8' maxrows 3
set xlabel 'offered load (requests/s)'
set logscale y
set ylabel 'TTFT (ms)'
set title 'time to first token'
plot $plot_ttft
set ylabel 'TPOT (ms)'
set title 'time per output token'
plot $plot_tpot
unset logscale y
set yrange [0:105]
set key below font ',8' maxrows 3
set ylabel 'requests within the SLOs (%)'
set title 'SLO attainment'
plot $plot_slo
unset multiplot
GP
	echo "$out.$t"
done
