#!/bin/sh
# router.sh OUT MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: the routers on two
# one-chip replicas, worked by hand (tests/data/serving/router.csv): request
# 0 (1000 output tokens) and request 1 (2) arrive at 0, requests 2 and 3 (2
# each) at 0.2 and 0.4 s.  Request 1 ends within a few ms and request 0
# runs for over a second, so at 0.2 and 0.4 s replica 0 has one request
# outstanding and replica 1 none.
#   round-robin:        replicas 0, 1, 0, 1;
#   least-outstanding:  replicas 0, 1, 1, 1 (ties to the lower number).
# Under least-outstanding requests 2 and 3 each find an idle chip, so their
# TTFT is request 1's, and request 0 runs alone: its end to end time is a
# run of it alone on one chip, to the picosecond as printed.
set -u
. "$(dirname "$0")/args.sh"
out=$first
trace=tests/data/serving/router.csv
for rt in round-robin least-outstanding; do
	# shellcheck disable=SC2086
	$mpirun -np 2 "$cimsim" run "$exp" "$@" --set parallel.tp=1 --set parallel.pp=1 \
		--set parallel.dp=2 --set serving.arrival=trace --set serving.trace=$trace \
		--set serving.router=$rt --requests "$out.$rt.csv" --quiet || exit 1
done
# shellcheck disable=SC2086
$mpirun -np 1 "$cimsim" run "$exp" "$@" --set parallel.tp=1 --set parallel.pp=1 \
	--set parallel.dp=1 --set serving.arrival=trace --set serving.trace=$trace \
	--set serving.requests=1 --requests "$out.alone.csv" --quiet || exit 1
col() { awk -F, -v c="$2" 'NR > 1 { printf "%s%s", sep, $c; sep = " " } END { print "" }' "$1"; }
rr=$(col "$out.round-robin.csv" 13)
lo=$(col "$out.least-outstanding.csv" 13)
[ "$rr" = "0 1 0 1" ] || { echo "FAIL: round-robin sent the requests to $rr, not 0 1 0 1"; exit 1; }
[ "$lo" = "0 1 1 1" ] || { echo "FAIL: least-outstanding sent them to $lo, not 0 1 1 1"; exit 1; }
set -- $(col "$out.least-outstanding.csv" 9)
[ "$2" = "$3" ] && [ "$2" = "$4" ] ||
	{ echo "FAIL: TTFT of requests 1, 2, 3 on idle chips: $2 $3 $4, not equal"; exit 1; }
alone=$(col "$out.alone.csv" 11)
set -- $(col "$out.least-outstanding.csv" 11)
[ "$1" = "$alone" ] ||
	{ echo "FAIL: request 0 ends after $1 s, alone after $alone s"; exit 1; }
set -- $(col "$out.round-robin.csv" 11)
echo "round-robin $rr, least-outstanding $lo; request 0 alone $alone s (round-robin: $1 s)"
