#!/bin/sh
# trace_two_runs.sh OUTDIR MPIRUN... -- CIMSIM: two runs of the same
# experiment get different run ids, so a trace directory holding files of
# both is refused with a message naming the two files.
out=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
cimsim=$2
rm -rf "$out" && mkdir -p "$out" || exit 1
for i in 1 2; do
	$mpirun -np 2 "$cimsim" run configs/experiments/llama2-7b-8chips.yaml --set parallel.tp=1 \
		--set parallel.pp=2 --set model.num_hidden_layers=4 --set workload.prompt_tokens=8 \
		--set workload.generate_tokens=2 --quiet --trace "$out/run$i" || { echo "run $i failed"; exit 1; }
done
cp "$out/run2/rank-00001.cimtrace" "$out/run1/rank-00001.cimtrace" || exit 1
msg=$("$cimsim" trace summary "$out/run1" 2>&1) && { echo "mixed runs were accepted:"; echo "$msg"; exit 1; }
printf '%s\n' "$msg" | grep -q "rank-00001.cimtrace: from another run than .*rank-00000.cimtrace" ||
	{ echo "unexpected message: $msg"; exit 1; }
echo "files of two runs are refused"
