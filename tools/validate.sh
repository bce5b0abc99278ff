#!/bin/sh
# validate.sh [BUILD] [CASES]: runs every validation case of CASES
# (configs/validation/cases.txt) with the cimsim of BUILD (build) and prints
# the residual table of docs/validation.md: for each measured figure,
# cimsim's, the residual (cimsim − measured) / measured, the bound the case
# holds it to and whether it is within.  Exits 1 when a case is outside its
# bound and the file names no explanation for it, 2 on bad input.
#
# A case line (blank lines and # comments skipped), fields split by '|':
#   name | how | ranks | experiment | figure | measured | bound | why
# how: run (an MPI run of `ranks` ranks through tools/mpirun.sh) or
#   estimate (`cimsim plan`'s analytical estimate of the experiment's own
#   split, for systems too large to run on one machine; it equals a run
#   where nothing competes, tests/partitioner).
# figure: decode_tokens_per_s (every user's tokens while they generate:
#   users / mean time per output token), user_tokens_per_s (1 / mean time
#   per output token), ms_per_token (mean time per output token), power_w
#   (average power of the chips and links), power_w_per_chip (that over
#   the chips).
# bound: the largest |residual| accepted, as a fraction (0.15).
# why: empty, or the named effect that is not modelled and explains a
#   residual past the bound.
# Paths in CASES are relative to the directory that holds it.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
cases=${2:-$here/configs/validation/cases.txt}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
cimsim=$build/coordinator/cimsim
[ -x "$cimsim" ] || { echo "validate: $cimsim: not built (make build)" >&2; exit 2; }
[ -r "$cases" ] || { echo "validate: $cases: cannot read the cases" >&2; exit 2; }
dir=$(cd "$(dirname "$cases")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the value at a dotted path of cimsim's JSON (tools/json-get.sh)
jget() { sh "$here/tools/json-get.sh" "$1" "$2"; }

printf '%-28s %-18s %14s %14s %10s %7s  %s\n' case figure measured cimsim residual bound verdict
status=0
n=0
while IFS='|' read -r name how ranks exp figure measured bound why; do
	name=$(echo "$name" | sed 's/^[ \t]*//; s/[ \t]*$//')
	case $name in '' | \#*) continue ;; esac
	n=$((n + 1))
	how=$(echo "$how" | tr -d ' \t')
	ranks=$(echo "$ranks" | tr -d ' \t')
	exp=$(echo "$exp" | tr -d ' \t')
	figure=$(echo "$figure" | tr -d ' \t')
	measured=$(echo "$measured" | tr -d ' \t')
	bound=$(echo "$bound" | tr -d ' \t')
	why=$(echo "$why" | sed 's/^[ \t]*//; s/[ \t]*$//')
	# one run per experiment, however many of its figures are checked
	json=$tmp/$(printf '%s_%s_%s' "$how" "$ranks" "$exp" | tr -c 'A-Za-z0-9_.-' '_').json
	if [ ! -e "$json" ]; then
		case $how in
		run) sh "$here/tools/mpirun.sh" -np "$ranks" "$cimsim" run "$dir/$exp" --quiet \
			--json "$json" >"$tmp/out" 2>&1 </dev/null ||
			{ cat "$tmp/out" >&2; echo "validate: $name: the run failed" >&2; exit 2; } ;;
		estimate) "$cimsim" plan "$dir/$exp" --only --json >"$json" 2>"$tmp/out" </dev/null ||
			{ cat "$tmp/out" >&2; echo "validate: $name: the estimate failed" >&2
				exit 2; } ;;
		*) echo "validate: $cases: case $name: how is '$how'; expected run or" \
			"estimate" >&2
			exit 2 ;;
		esac
	fi
	# The figure from the run's own results, or from the estimate of the
	# experiment's split.
	if [ "$how" = run ]; then
		users=workload.batch tpot=latency.tpot_s.mean pw=energy.average_power_w
		chips=system.chips
	else
		users=estimate.sequences tpot=estimate.tpot_s pw=estimate.average_power_w
		chips=plan.chips
	fi
	v=$(jget "$json" $tpot) && t=$v && v=$(jget "$json" $users) && u=$v &&
		v=$(jget "$json" $pw) && w=$v && v=$(jget "$json" $chips) && n=$v ||
		{ echo "validate: $name: the results lack the figures" >&2; exit 2; }
	case $figure in
	decode_tokens_per_s) v=$(awk -v t="$t" -v u="$u" 'BEGIN { printf "%.9g", u / t }') ;;
	user_tokens_per_s) v=$(awk -v t="$t" 'BEGIN { printf "%.9g", 1 / t }') ;;
	ms_per_token) v=$(awk -v t="$t" 'BEGIN { printf "%.9g", t * 1e3 }') ;;
	power_w) v=$w ;;
	power_w_per_chip) v=$(awk -v w="$w" -v n="$n" 'BEGIN { printf "%.9g", w / n }') ;;
	*) echo "validate: $cases: case $name: figure is '$figure'; expected" \
		"decode_tokens_per_s, user_tokens_per_s, ms_per_token, power_w or" \
		"power_w_per_chip" >&2
		exit 2 ;;
	esac
	line=$(awk -v m="$measured" -v c="$v" -v b="$bound" -v why="$why" 'BEGIN {
		r = (c - m) / m
		a = r < 0 ? -r : r
		verdict = a <= b ? "within" : why != "" ? "outside: " why : "OUTSIDE"
		printf "%14.6g %14.6g %+9.1f%% %6.0f%%  %s", m, c, 100 * r, 100 * b, verdict
		exit (a <= b || why != "") ? 0 : 1
	}') || status=1
	printf '%-28s %-18s %s\n' "$name" "$figure" "$line"
done <"$cases"
[ "$n" -gt 0 ] || { echo "validate: $cases: no cases" >&2; exit 2; }
exit $status
