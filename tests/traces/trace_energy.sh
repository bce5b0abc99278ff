#!/bin/sh
# trace_energy.sh LEVEL RANKS DIR MPIRUN... -- CIMSIM EXPERIMENT: runs a
# short EXPERIMENT on 8 ranks, RANKS (`all`, or a list for --trace-ranks)
# traced at LEVEL into DIR, and passes when the energy the traces hold, as
# `cimsim trace summary --csv` adds it up, equals the run's own: on every
# traced rank that rank's energy minus its share of the leakage, and when
# every rank is traced the run's total energy minus leakage (docs/results.md:
# each chip is powered for the whole run; leakage is not an event and is
# not traced).  Merged spans sum what they merge, so this holds at every
# level (docs/traces.md).
#
# The two sides add the same pJ values in different orders (the executor
# per rank as events come, the summary per operator row, then this script)
# and the CSV prints 15 significant digits, so they agree to rounding, not
# bit for bit: the test allows a relative difference of 1e-12.  Rounding
# leaves less (5e-14 measured); the smallest event that carries energy, a
# token sent back to the first stage (32 pJ), is 1.3e-9 of its rank's
# energy and 1.6e-10 of the total, so 1e-9 would miss it where 1e-12 does
# not.
set -u
level=$1
ranks=$2
dir=$3
shift 3
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
cimsim=$1
exp=$2
np=8

fail() {
	echo "FAIL: $*"
	exit 1
}

rm -rf "$dir" "$dir.json"
# shellcheck disable=SC2086
out=$($mpirun -np $np "$cimsim" run "$exp" --set workload.generate_tokens=8 \
	--set workload.prompt_tokens=32 --json "$dir.json" --quiet --trace "$dir" \
	--trace-level "$level" --trace-ranks "$ranks" 2>&1) || fail "the run failed: $out"
grep -q "\"ranks\": $np," "$dir.json" || fail "the run did not have $np ranks"

# The run's energy: "total_j", the leakage of "by_component_j" and the
# array "by_chip_j", one number per line (coordinator/results.c).
total=$(sed -n 's/^ *"total_j": \([-0-9.e+]*\),*$/\1/p' "$dir.json")
leak=$(sed -n '/"by_component_j"/,/}/s/^ *"leakage": \([-0-9.e+]*\),*$/\1/p' "$dir.json")
chips=$(sed -n '/"by_chip_j"/,/]/s/^ *\([-0-9.e+][-0-9.e+]*\),*$/\1/p' "$dir.json")
{ [ -n "$total" ] && [ -n "$leak" ]; } || fail "no total_j or leakage in $dir.json"
[ "$(printf '%s\n' "$chips" | wc -l)" -eq $np ] || fail "by_chip_j has not $np entries"

# The traces' energy, per rank, from the summary's CSV (energy_j is the
# last column; a chip name with a comma would be quoted, never the last).
csv=$("$cimsim" trace summary "$dir" --csv - --strict 2>&1) || fail "trace summary: $csv"
printf '%s\n' "$csv" | head -1 | grep -q ',energy_j$' || fail "unexpected CSV header: $csv"

# the traced ranks, as a list for awk: "0 1 2 ... 7" or "0 2 4 6"
if [ "$ranks" = all ]; then
	traced=$(awk -v n=$np 'BEGIN { for (r = 0; r < n; r++) printf "%d ", r }')
else
	traced=$(printf '%s' "$ranks" | tr ',' ' ')
fi
# shellcheck disable=SC2086
printf '%s\n' "$csv" | awk -F, -v np=$np -v total="$total" -v leak="$leak" \
	-v chips="$(printf '%s ' $chips)" -v level="$level" -v traced="$traced" '
	NR > 1 { e[$1] += $NF; all += $NF; seen[$1] = 1 }
	function bad(a, b) { return !(a - b <= 1e-12 * b && b - a <= 1e-12 * b) }
	END {
		ok = 1
		n = split(traced, t, " ")
		if (n == np) {
			want = total - leak
			printf "level %s: traced %.17g J, run %.17g J (total %.17g - leakage %.17g)\n",
			       level, all, want, total, leak
			if (bad(all, want)) { print "FAIL: the totals differ"; ok = 0 }
		}
		split(chips, c, " ")
		for (i = 1; i <= n; i++) {
			r = t[i]
			w = c[r + 1] - leak / np
			if (!(r in seen)) { printf "FAIL: rank %d has no rows\n", r; ok = 0; continue }
			printf "  rank %d: traced %.17g J, run %.17g J\n", r, e[r], w
			if (bad(e[r], w)) { printf "FAIL: rank %d differs\n", r; ok = 0 }
			delete seen[r]
		}
		for (r in seen) { printf "FAIL: rank %d was not to be traced\n", r; ok = 0 }
		exit ok ? 0 : 1
	}' || exit 1
exit 0
