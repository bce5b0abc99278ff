#!/bin/sh
# same_tp_per_rank.sh NP TP MPIRUN... -- COMMAND...: runs COMMAND (which
# prints the results JSON) on NP ranks, one chip each, and on NP / TP ranks
# with --tp-per-rank, each simulating a TP group of TP chips, and passes when
# the outputs are identical but for the simulator's own figures (its ranks,
# chips per rank, wall time, CPU time and memory).  With SAME_TP_TRACE=DIR
# both runs are traced too (DIR/one, DIR/group), and `cimsim trace summary`
# of the two (COMMAND's first word is cimsim) must be identical as well.
np=$1
tp=$2
shift 2
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
. "$(dirname "$0")/json_same.sh"
JSON_STRIP_MORE="-e \"ranks\" -e \"chips_per_rank\""
ta= tb=
if [ -n "${SAME_TP_TRACE:-}" ]; then
	rm -rf "$SAME_TP_TRACE/one" "$SAME_TP_TRACE/group"
	ta="--trace $SAME_TP_TRACE/one" tb="--trace $SAME_TP_TRACE/group"
fi
# shellcheck disable=SC2086
a=$($mpirun -np "$np" "$@" $ta) || { echo "the run with one chip a rank failed"; exit 1; }
# shellcheck disable=SC2086
b=$($mpirun -np $((np / tp)) "$@" --tp-per-rank $tb) ||
	{ echo "the run with --tp-per-rank failed"; exit 1; }
if [ -n "${SAME_TP_TRACE:-}" ]; then
	sa=$("$1" trace summary "$SAME_TP_TRACE/one") || { echo "no summary of one chip a rank"; exit 1; }
	sb=$("$1" trace summary "$SAME_TP_TRACE/group") || { echo "no summary of --tp-per-rank"; exit 1; }
	printf '%s\n' "$sa" | grep -q "of $np ranks traced" || { echo "not every chip traced"; exit 1; }
	json_same "$sa" "$sb" "the traces differ" || exit 1
fi
printf '%s\n' "$b" | grep -q "\"chips_per_rank\": $tp" || { echo "did not run $tp chips a rank"; exit 1; }
json_same "$a" "$b" "one chip a rank and a TP group a rank differ" || exit 1
