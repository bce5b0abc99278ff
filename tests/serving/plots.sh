#!/bin/sh
# plots.sh OUT MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: a capacity search's
# CSV (run --search-rate --csv) plotted by tools/serving-plots.sh as PNG and
# SVG; a CSV that is not a search's is refused.  Skipped (77) where gnuplot
# is not installed.
set -u
. "$(dirname "$0")/args.sh"
out=$first
command -v gnuplot >/dev/null 2>&1 || { echo "gnuplot is not installed"; exit 77; }
rm -f "$out".*
# shellcheck disable=SC2086
$mpirun -np 1 "$cimsim" run "$exp" "$@" --search-rate 5 200 --steps 2 --csv "$out.csv" \
	--quiet >/dev/null || { echo "the search failed"; exit 1; }
[ "$(wc -l <"$out.csv")" -eq 5 ] || { echo "not 4 rates in $out.csv"; cat "$out.csv"; exit 1; }
sh tools/serving-plots.sh "$out" "$out.csv=one chip" || exit 1
head -c 8 "$out.png" | od -c | grep -q 'P   N   G' || { echo "$out.png is not a PNG"; exit 1; }
grep -q '<svg' "$out.svg" || { echo "$out.svg is not SVG"; exit 1; }
printf 'a,b\n1,2\n' >"$out.bad.csv"
if sh tools/serving-plots.sh "$out.bad" "$out.bad.csv" 2>"$out.err"; then
	echo "a CSV without the search's columns was plotted"; exit 1
fi
grep -q "no column 'rate_per_s': not a --search-rate CSV" "$out.err" || { cat "$out.err"; exit 1; }
echo "plots of 4 rates in $out.png and $out.svg"
