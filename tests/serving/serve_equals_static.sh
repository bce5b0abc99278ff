#!/bin/sh
# serve_equals_static.sh OUT MPIRUN... -- CIMSIM EXPERIMENT NP [SET...]: a
# served load whose requests all arrive at t = 0 under the static scheduler
# is the static run, bit for bit: the JSON results of both runs agree in
# every figure but the simulator's own wall and CPU times.  The served
# run's "serving" block is its own; the static run's analytical estimate and
# GPU baseline, which are of a static batch, are not shown for a served
# load (docs/serving.md).
set -u
. "$(dirname "$0")/args.sh"
out=$first np=$1
shift
sets=""
for s in "$@"; do sets="$sets --set $s"; done
strip() {
	grep -v -E '"(wall_s|cpu_s|events_per_s|peak_rss_mib_per_rank|simulated_tokens_per_wall_s)"' "$1" |
		awk '/^  "(serving|estimate)": \{/ || /^  "gpu": \[/ { skip = 1; next }
			skip && /^  []}]/ { skip = 0; next } !skip'
}
# shellcheck disable=SC2086
$mpirun -np "$np" "$cimsim" run "$exp" $sets --json "$out.static.json" --quiet || exit 1
# shellcheck disable=SC2086
$mpirun -np "$np" "$cimsim" run "$exp" $sets --set serving.arrival=batch \
	--set serving.scheduler=static --json "$out.served.json" --quiet || exit 1
grep -q '"serving": {' "$out.served.json" || { echo "FAIL: the served run has no serving block"; exit 1; }
strip "$out.static.json" > "$out.a"
strip "$out.served.json" > "$out.b"
if ! diff "$out.a" "$out.b"; then
	echo "FAIL: the served static batch differs from the static run"
	exit 1
fi
n=$(grep -c '' "$out.a")
echo "static run and served static batch agree on all $n lines of figures"
