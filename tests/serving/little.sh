#!/bin/sh
# little.sh OUT MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: Little's law on the
# run's own time series.  A traced served load's export carries each
# scheduler's series as counter tracks (docs/serving.md, "Time series");
# the track "waiting" (requests arrived and never admitted) is a step
# function, so its integral over the run is the time-average queue length
# L_q times the span T.  Little's law, L_q = λ W_q with λ = n / T, says that
# integral equals the sum of the requests' queueing delays in the
# per-request CSV, n W_q: within the CSV's printed digits.  Every
# scheduling rank's series is summed (one per replica).  Also: KV use lies
# in [0, 1], no pass holds more requests than max_batch, and the series'
# last point has nobody waiting or running.
set -u
. "$(dirname "$0")/args.sh"
out=$first
rm -rf "$out.trace"
# shellcheck disable=SC2086
$mpirun "$cimsim" run "$exp" "$@" --trace "$out.trace" --requests "$out.csv" --quiet ||
	exit 1
"$cimsim" trace export "$out.trace" -o "$out.json" >/dev/null || exit 1
grep -o '{"ph":"C","name":"[a-zA-Z ]*","pid":[0-9]*,"ts":[0-9.]*,"args":{"[a-z]*":[-0-9.e+]*}}' \
	"$out.json" | sed 's/[{}"]//g; s/,/ /g; s/:/ /g' >"$out.counters" || exit 1
# lines: ph C name NAME... pid P ts T args UNIT V
max_batch=$(printf '%s\n' "$@" | sed -n 's/^serving.max_batch=//p')
awk -v csv="$out.csv" -v maxb="${max_batch:-256}" '
{
	name = ""; for (i = 4; $i != "pid"; i++) name = name (name == "" ? "" : " ") $i
	pid = $(i + 1); ts = $(i + 3); v = $NF
	if (name == "waiting") {
		if (pid in t) area += last[pid] * (ts - t[pid])
		if (pid in t && ts < t[pid]) { print "FAIL: series out of time order"; exit 1 }
		t[pid] = ts; last[pid] = v; points++
		if (v < 0) { print "FAIL: negative queue"; exit 1 }
		if (ts > span) span = ts
	}
	if (name == "running") lastrun[pid] = v
	if (name == "KV use" && (v < 0 || v > 1)) { print "FAIL: KV use " v; exit 1 }
	if (name == "pass batch" && v > maxb) { print "FAIL: a pass of " v " requests"; exit 1 }
}
END {
	area /= 1e6                     # µs·requests to s·requests
	while ((getline line < csv) > 0) {
		if (++row == 1) continue
		split(line, f, ","); sum += f[8]; n++
	}
	if (points == 0 || n == 0) { print "FAIL: no series or no requests"; exit 1 }
	for (p in last) if (last[p] != 0 || lastrun[p] != 0) {
		print "FAIL: rank " p " ends with " last[p] " waiting, " lastrun[p] " running"; exit 1 }
	T = span / 1e6
	printf "%d points; integral of waiting %.9g s·req (L_q %.6g over %.6g s); n W_q %.9g s·req (lambda %.6g/s, W_q %.6g s)\n",
		points, area, area / T, T, sum, n / T, sum / n
	if (sum < 1e-6) { print "FAIL: nobody waited: the test needs a queue"; exit 1 }
	d = area - sum; if (d < 0) d = -d
	if (d > 1e-9 * sum + 1e-9) { print "FAIL: Little'"'"'s law does not hold on the series"; exit 1 }
}' "$out.counters"
