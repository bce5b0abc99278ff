#!/bin/sh
# sweep_tp_per_rank.sh OUT MPIRUN... -- CIMSIM STUDY: the study swept on 4
# ranks with a rank per chip and with --tp-per-rank gives the same CSV, row
# for row (the split, every figure, the best and the Pareto marks), and
# the grouped sweep ran its tp > 1 points on fewer ranks than chips.
out=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
cimsim=$1 study=$2
mkdir -p "$out" && rm -f "$out/one.csv" "$out/group.csv"
$mpirun -np 4 "$cimsim" sweep "$study" --csv "$out/one.csv" --quiet ||
	{ echo "the sweep with a rank per chip failed"; exit 1; }
$mpirun -np 4 "$cimsim" sweep "$study" --csv "$out/group.csv" --json "$out/group.json" \
	--quiet --tp-per-rank || { echo "the sweep with --tp-per-rank failed"; exit 1; }
grep -q '"chips_per_rank": 2' "$out/group.json" || { echo "no point ran a TP group a rank"; exit 1; }
[ "$(wc -l <"$out/one.csv")" -gt 1 ] || { echo "no rows"; exit 1; }
cmp "$out/one.csv" "$out/group.csv" && exit 0
echo "the two sweeps differ:"
diff "$out/one.csv" "$out/group.csv"
exit 1
