#!/bin/sh
# same_arrivals.sh OUT MPIRUN... -- CIMSIM EXPERIMENT [ARG...]: the seeded
# arrivals do not depend on the rank layout.  The same served load runs
# three times on 8 ranks: tp 2 x pp 4 as Open MPI places ranks by default;
# the same split with ranks placed round-robin and unbound (its results must
# be identical but for the host's own wall time, CPU time and memory); and
# tp 1 x pp 4 x dp 2, whose requests (arrival, prompt and output tokens, by
# request number) must be those of the first run, byte for byte.
set -u
. "$(dirname "$0")/args.sh"
out=$first
strip() { grep -v -e '"wall_s"' -e '"cpu_s"' -e '"events_per_s"' -e '"peak_rss_mib_per_rank"' \
	-e '"simulated_tokens_per_wall_s"' "$1"; }
# shellcheck disable=SC2086
$mpirun -np 8 "$cimsim" run "$exp" "$@" --set parallel.tp=2 --set parallel.pp=4 \
	--json "$out.a.json" --requests "$out.a.csv" --quiet || exit 1
# shellcheck disable=SC2086
$mpirun -np 8 --map-by slot --bind-to none "$cimsim" run "$exp" "$@" --set parallel.tp=2 \
	--set parallel.pp=4 --json "$out.b.json" --quiet || exit 1
# shellcheck disable=SC2086
$mpirun -np 8 "$cimsim" run "$exp" "$@" --set parallel.tp=1 --set parallel.pp=4 \
	--set parallel.dp=2 --requests "$out.c.csv" --quiet || exit 1
strip "$out.a.json" >"$out.a.strip"
strip "$out.b.json" >"$out.b.strip"
if ! cmp -s "$out.a.strip" "$out.b.strip"; then
	echo "FAIL: results differ between rank placements:"
	diff "$out.a.strip" "$out.b.strip" | head -20
	exit 1
fi
cut -d, -f1-4 "$out.a.csv" >"$out.a.req"
cut -d, -f1-4 "$out.c.csv" >"$out.c.req"
n=$(($(wc -l <"$out.a.req") - 1))
[ "$n" -gt 0 ] || { echo "FAIL: no requests"; exit 1; }
if ! cmp -s "$out.a.req" "$out.c.req"; then
	echo "FAIL: the requests differ between tp 2 x pp 4 and tp 1 x pp 4 x dp 2:"
	diff "$out.a.req" "$out.c.req" | head -20
	exit 1
fi
echo "$n requests the same on both splits; results the same on both placements"
