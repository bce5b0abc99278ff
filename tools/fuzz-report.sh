#!/bin/sh
# fuzz-report.sh [FUZZ_BUILD]: the table of the last fuzzing run of every
# harness (tests/fuzz/run.sh's logs): inputs run, inputs per second, the
# coverage libFuzzer counts (edges of the instrumented readers, "cov", and
# features, "ft"), the corpus kept and the peak memory.
set -u
dir=${1:-build-fuzz}/tests/fuzz
printf '%-13s %11s %9s %6s %7s %7s %8s\n' harness inputs 'inputs/s' cov ft corpus 'RSS MB'
for log in "$dir"/corpus-*.log; do
	[ -f "$log" ] || { echo "fuzz-report.sh: no logs in $dir: run make fuzz" >&2; exit 1; }
	name=${log##*/corpus-}
	name=${name%.log}
	units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	line=$(grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1)
	cov=$(printf '%s' "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s' "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	eps=$(printf '%s' "$line" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
	printf '%-13s %11s %9s %6s %7s %7s %8s\n' "$name" "${units:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}" "${rss:-?}"
done
