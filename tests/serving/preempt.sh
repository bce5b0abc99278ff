#!/bin/sh
# preempt.sh SCHEDULER MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: 20 requests
# of TinyLlama (16 + 12 tokens) on one chip whose DRAM leaves room for 46
# cached positions (63 MiB, of which the 62.5 MiB embedding table; 11,264 B
# a position), arriving at once: the scheduler admits what fits, and the
# continuous policies preempt (recompute) when a decode would not fit.  The
# run must end (a chip would stop it on an overflow), every request must
# finish, and a continuous policy must have preempted.
set -u
. "$(dirname "$0")/args.sh"
sched=$first
out=${TMPDIR:-/tmp}/cimsim-preempt.$$.csv
budget=""
[ "$sched" = chunked ] || [ "$sched" = decode-first ] && budget="--set serving.token_budget=32"
# shellcheck disable=SC2086
$mpirun -np 1 "$cimsim" run "$exp" "$@" --set parallel.tp=1 --set parallel.pp=1 \
	--set chip.dram.capacity_mib=63 --set serving.arrival=poisson --set serving.rate_per_s=1000 \
	--set serving.requests=20 --set serving.prompt_tokens=16 --set serving.output_tokens=12 \
	--set serving.scheduler="$sched" --set serving.max_batch=8 $budget --requests "$out" \
	--quiet || exit 1
awk -F, -v sched="$sched" '
NR > 1 { n++; if ($7 > 0 && $7 >= $6 && $6 >= $5) done++; pre += $12 }
END {
	printf "%s: %d of %d requests finished, %d preemptions\n", sched, done, n, pre
	if (n != 20 || done != 20) exit 1
	if (sched != "static" && pre == 0) { print "FAIL: no preemption"; exit 1 }
	if (sched == "static" && pre != 0) { print "FAIL: a static batch preempted"; exit 1 }
}' "$out"
rc=$?
rm -f "$out"
exit $rc
