#!/bin/sh
# same_tp_per_rank.sh NP TP MPIRUN... -- COMMAND...: runs COMMAND (which
# prints the results JSON) on NP ranks, one chip each, and on NP / TP ranks
# with --tp-per-rank, each simulating a TP group of TP chips, and passes when
# the outputs are identical but for the simulator's own figures (its ranks,
# chips per rank, wall time, CPU time and memory).
np=$1
tp=$2
shift 2
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
strip() { grep -v -e '"wall_s"' -e '"cpu_s"' -e '"events_per_s"' -e '"peak_rss_mib_per_rank"' \
	-e '"simulated_tokens_per_wall_s"' -e '"ranks"' -e '"chips_per_rank"'; }
a=$($mpirun -np "$np" "$@") || { echo "the run with one chip a rank failed"; exit 1; }
b=$($mpirun -np $((np / tp)) "$@" --tp-per-rank) || { echo "the run with --tp-per-rank failed"; exit 1; }
printf '%s\n' "$b" | grep -q "\"chips_per_rank\": $tp" || { echo "did not run $tp chips a rank"; exit 1; }
a=$(printf '%s\n' "$a" | strip)
b=$(printf '%s\n' "$b" | strip)
[ -n "$a" ] && [ "$a" = "$b" ] && exit 0
echo "one chip a rank and a TP group a rank differ:"
printf '%s\n' "$a" > /tmp/cimsim-a.$$; printf '%s\n' "$b" > /tmp/cimsim-b.$$
diff /tmp/cimsim-a.$$ /tmp/cimsim-b.$$; rm -f /tmp/cimsim-a.$$ /tmp/cimsim-b.$$
exit 1
