#!/bin/sh
# sweep_equals_runs.sh OUTDIR MPIRUN... -- CIMSIM: the study
# tests/data/sweep/small.yaml (4-chip points) swept on 8 ranks, where two
# points run side by side, gives for every point the results `cimsim run`
# gives for the same experiment alone on 4 ranks; swept on 4 ranks, one
# point at a time, it gives the same CSV and the same point results.  The
# CSV has one row per point, the two that do not fit included.
out=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
cimsim=$2
study=tests/data/sweep/small.yaml
exp=configs/experiments/llama2-7b-8chips.yaml
rm -rf "$out" && mkdir -p "$out" || exit 1
# The simulator's own wall time, CPU time and memory measure the host.
strip() { grep -v -e '"wall_s"' -e '"cpu_s"' -e '"events_per_s"' -e '"peak_rss_mib_per_rank"' \
	-e '"simulated_tokens_per_wall_s"' -e '"ranks"' "$1"; }

$mpirun -np 8 "$cimsim" sweep $study --quiet --csv "$out/8.csv" --json-dir "$out/8" ||
	{ echo "the sweep on 8 ranks failed"; exit 1; }
$mpirun -np 4 "$cimsim" sweep $study --quiet --csv "$out/4.csv" --json-dir "$out/4" ||
	{ echo "the sweep on 4 ranks failed"; exit 1; }
rows=$(wc -l < "$out/8.csv")
[ "$rows" -eq 9 ] || { echo "the CSV has $rows lines, not a header and 8 points"; exit 1; }
[ "$(grep -c ',infeasible,' "$out/8.csv")" -eq 2 ] ||
	{ echo "the CSV does not list the 2 points that do not fit"; cat "$out/8.csv"; exit 1; }
cmp "$out/8.csv" "$out/4.csv" || { echo "the CSV depends on the ranks"; diff "$out/8.csv" "$out/4.csv"; exit 1; }

# Points in order: batch 4 then 8; splits (2,2) (4,1) (1,4) (1,1,4).
k=0
for batch in 4 8; do
	for split in "2 2" "4 1" "1 4" "1 1"; do
		set -- $split
		f=$(printf 'point-%04d.json' $k)
		k=$((k + 1))
		if [ "$split" = "1 1" ]; then
			[ ! -e "$out/8/$f" ] || { echo "$f: a point that does not fit has results"; exit 1; }
			continue
		fi
		$mpirun -np 4 "$cimsim" run $exp --set model.num_hidden_layers=8 \
			--set workload.prompt_tokens=32 --set workload.generate_tokens=8 \
			--set workload.batch=$batch --set parallel.strategy=manual \
			--set parallel.tp=$1 --set parallel.pp=$2 --set parallel.dp=1 \
			--json "$out/alone-$f" --quiet || { echo "run of $f failed"; exit 1; }
		for d in 8 4; do
			strip "$out/$d/$f" > "$out/a" && strip "$out/alone-$f" > "$out/b" || exit 1
			[ -s "$out/a" ] || { echo "$out/$d/$f is empty"; exit 1; }
			cmp -s "$out/a" "$out/b" ||
				{ echo "$f of the sweep on $d ranks differs from the run alone:"; diff "$out/a" "$out/b"; exit 1; }
		done
	done
done
echo "6 points equal their runs alone, on 8 and on 4 ranks"
