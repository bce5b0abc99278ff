#!/bin/sh
# plan_only_same.sh CIMSIM EXPERIMENT [--set ...]: `cimsim plan --json` takes
# the plan's estimate from its row of the table of splits, `--only` estimates
# the split alone; both must print the same estimate, figure by figure.
set -eu
cimsim=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")/../.." && pwd)
"$cimsim" plan "$@" --json > "$tmp/table.json"
"$cimsim" plan "$@" --only --json > "$tmp/only.json"
for f in decode_token_s prefill_s ttft_s tpot_s makespan_s generated_tokens_per_s \
	energy_j energy_per_generated_token_j average_power_w; do
	a=$(sh "$here/tools/json-get.sh" "$tmp/table.json" "estimate.$f") ||
		{ echo "estimate.$f missing from plan --json"; exit 1; }
	b=$(sh "$here/tools/json-get.sh" "$tmp/only.json" "estimate.$f") ||
		{ echo "estimate.$f missing from plan --only --json"; exit 1; }
	[ "$a" = "$b" ] || { echo "estimate.$f: $a with the table, $b with --only"; exit 1; }
done
echo "plan and plan --only print the same estimate"
