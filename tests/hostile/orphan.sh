#!/bin/sh
# orphan.sh MPIRUN... -- CIMSIM EXPERIMENT: starts a long run on 8 ranks,
# waits until every rank runs, kills mpirun with SIGKILL (as a second Ctrl-C
# ends it at once) and passes when no rank is left 5 s later: each sees its
# parent gone at its next poll and stops (docs/robustness.md).
set -u
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
cimsim=$1 exp=$2
# children of PID (field 4 of /proc/N/stat is the parent's pid)
ranks_of() { awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null; }
# shellcheck disable=SC2086
$mpirun -np 8 "$cimsim" run "$exp" --set workload.generate_tokens=3000 --set workload.batch=64 \
	--quiet >/dev/null 2>&1 &
pid=$!
i=0
while [ "$(ranks_of "$pid" | wc -l)" -lt 8 ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "FAIL: the 8 ranks did not start"; kill -9 "$pid"; exit 1; }
	sleep 0.1
done
sleep 1 # every rank into its run
ranks=$(ranks_of "$pid")
kill -9 "$pid"
wait "$pid" 2>/dev/null
i=0
while :; do
	left=0
	for r in $ranks; do kill -0 "$r" 2>/dev/null && left=$((left + 1)); done
	[ "$left" -eq 0 ] && break
	i=$((i + 1))
	if [ $i -gt 50 ]; then
		echo "FAIL: $left rank(s) still running 5 s after mpirun was killed"
		for r in $ranks; do kill -9 "$r" 2>/dev/null; done
		exit 1
	fi
	sleep 0.1
done
echo "ok: every rank ended $((i * 100)) ms after mpirun was killed (at most)"
