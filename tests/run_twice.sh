#!/bin/sh
# run_twice.sh NP MPIRUN... -- COMMAND...: runs COMMAND (which prints the
# results JSON) twice on NP ranks and passes when the outputs are identical
# but for the simulator's own wall time, CPU time and memory, which measure
# the host, not the simulated system.  RUN_TWICE_SECOND adds arguments to
# the second run only (e.g. --trace DIR: tracing must not change a result),
# RUN_TWICE_MPI_SECOND flags to its launcher (e.g. --map-by slot: the rank
# layout must not change a result either).
np=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
. "$(dirname "$0")/json_same.sh"
a=$($mpirun -np "$np" "$@") || { echo "first run failed"; exit 1; }
# shellcheck disable=SC2086
b=$($mpirun -np "$np" ${RUN_TWICE_MPI_SECOND:-} "$@" $RUN_TWICE_SECOND) ||
	{ echo "second run failed"; exit 1; }
printf '%s\n' "$a" | grep -q "\"ranks\": $np" || { echo "did not run on $np ranks"; exit 1; }
json_same "$a" "$b" "two runs differ" || exit 1
