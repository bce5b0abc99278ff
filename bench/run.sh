#!/bin/sh
# bench/run.sh — the two reference runs of cimsim, timed, against their targets.
#
#   sh bench/run.sh [--repeat N] [--out FILE] [--timeout S] [BUILD_DIR]
#
# Runs `cimsim run` on
#   7B/8    configs/experiments/llama2-7b-8chips.yaml   on  8 ranks
#   70B/64  configs/experiments/llama2-70b-64chips.yaml on 64 ranks
# through tools/mpirun.sh, measures each whole command's wall time and reads
# the "simulator" object of the results JSON (docs/results.md); then times
# `cimsim sweep` on the 7B strategy study (configs/studies/, 8 ranks), whose
# target is a minute.  With
# --repeat N each run is taken N times and the fastest (whole-command wall)
# is kept.  --out FILE writes the table to FILE as well as to stdout.
# --timeout S (default 1800) ends a run that takes longer, when coreutils'
# timeout is there; it counts as failed.
# BUILD_DIR defaults to build/ at the repository root; a relative BUILD_DIR
# is taken from the working directory.
#
# Exit status: 0 when every run succeeded, even if a target was missed;
# 1 when a run failed; 2 on bad arguments or a missing executable.
# Plain POSIX sh, date, sed, awk: no python.  See bench/README.md.
set -u

usage='usage: sh bench/run.sh [--repeat N] [--out FILE] [--timeout S] [BUILD_DIR]'
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 2
root=$(dirname -- "$here")

repeat=1
limit=1800
out=
build=
while [ $# -gt 0 ]; do
	case $1 in
	--repeat)
		[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
		repeat=$2; shift 2 ;;
	--repeat=*) repeat=${1#--repeat=}; shift ;;
	--out)
		[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
		out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--timeout)
		[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
		limit=$2; shift 2 ;;
	--timeout=*) limit=${1#--timeout=}; shift ;;
	-h|--help) echo "$usage"; exit 0 ;;
	-*) echo "bench/run.sh: unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
	*)
		[ -z "$build" ] || { echo "$usage" >&2; exit 2; }
		build=$1; shift ;;
	esac
done
case $repeat in
'' | *[!0-9]* | 0) echo "bench/run.sh: --repeat needs a whole number ≥ 1" >&2; exit 2 ;;
esac
case $limit in
'' | *[!0-9]* | 0) echo "bench/run.sh: --timeout needs whole seconds ≥ 1" >&2; exit 2 ;;
esac
if [ -n "$out" ] && ! : >"$out"; then
	echo "bench/run.sh: cannot write $out" >&2
	exit 2
fi
[ -n "$build" ] || build=$root/build
cimsim=$build/coordinator/cimsim
if [ ! -x "$cimsim" ]; then
	echo "bench/run.sh: no executable $cimsim; build first:" >&2
	echo "  cmake -S $root -B $build && cmake --build $build -j" >&2
	exit 2
fi

# coreutils' timeout where there is one; otherwise runs are not limited.
limiter=
command -v timeout >/dev/null 2>&1 && limiter="timeout $limit"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cimsim-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Seconds since the epoch, with nanoseconds where date has %N (GNU, busybox).
now() {
	t=$(date +%s.%N)
	case $t in
	*N*) date +%s ;;
	*) echo "$t" ;;
	esac
}

# KEY of the top-level object OBJ ("simulator", "workload") of JSON file $1,
# pretty-printed or on one line; OBJ must hold numbers only, no nested
# objects.
obj_get() {
	tr -d '\n\r' <"$1" |
		sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*{\\([^}]*\\)}.*/\\1/p" |
		tr ',' '\n' |
		sed -n "s/^[[:space:]]*\"$3\"[[:space:]]*:[[:space:]]*\\([^[:space:]]*\\)[[:space:]]*\$/\\1/p"
}
sim_get() { obj_get "$1" simulator "$2"; }

fails=0
rows=

# bench NAME RANKS EXPERIMENT WALL_TARGET_S RSS_TARGET_MIB (empty: none)
bench() {
	name=$1 ranks=$2 exp=$root/$3 wall_t=$4 rss_t=$5 flags=${6:-}
	best='' best_json=''
	i=1
	while [ "$i" -le "$repeat" ]; do
		json=$tmp/$ranks-$i.json
		log=$tmp/$ranks-$i.log
		t0=$(now)
		# shellcheck disable=SC2086
		$limiter sh "$root/tools/mpirun.sh" -np "$ranks" "$cimsim" run "$exp" $flags \
			--json "$json" --quiet >"$log" 2>&1
		rc=$?
		t1=$(now)
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ "$rc" -ne 0 ] || [ ! -s "$json" ] || [ -z "$(sim_get "$json" wall_s)" ]; then
			why="exit $rc"
			[ -n "$limiter" ] && [ "$rc" -eq 124 ] && why="timed out"
			echo "bench/run.sh: $name run $i/$repeat failed ($why) after ${wall} s:" >&2
			tail -n 20 "$log" >&2
			fails=$((fails + 1))
			return
		fi
		echo "$name run $i/$repeat: $wall s" >&2
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$wall
			best_json=$json
		fi
		i=$((i + 1))
	done
	j=$best_json
	row=$(awk -v name="$name" -v ranks="$ranks" -v whole="$best" \
		-v sim="$(sim_get "$j" wall_s)" -v cpu="$(sim_get "$j" cpu_s)" \
		-v rss="$(sim_get "$j" peak_rss_mib_per_rank)" -v ev="$(sim_get "$j" events)" \
		-v evs="$(sim_get "$j" events_per_s)" \
		-v tok="$(sim_get "$j" simulated_tokens_per_wall_s)" \
		-v wt="$wall_t" -v rt="$rss_t" 'BEGIN {
		verdict = whole + 0 < wt + 0 ? "PASS" : "MISS"
		target = "wall < " wt " s"
		if (rt != "") {
			target = target ", RSS < " rt " MiB"
			if (rss + 0 >= rt + 0)
				verdict = "MISS"
		}
		printf "%-7s %5d %9.2f %9.2f %9.2f %9.1f %10.0f %11.0f %9.1f  %-26s %s\n",
		       name, ranks, whole, sim, whole - sim, cpu, ev, evs, rss, target, verdict
		printf "#%.1f\n", tok
	}')
	tok=$(printf '%s\n' "$row" | sed -n 's/^#//p')
	rows="$rows$(printf '%s\n' "$row" | sed '/^#/d')
"
	wl="batch $(obj_get "$j" workload batch), $(obj_get "$j" workload prompt_tokens) prompt"
	wl="$wl + $(obj_get "$j" workload generate_tokens) generated tokens"
	toks="${toks:-}$name ($wl): $tok simulated tokens per wall second
"
}

# bench_sweep NAME RANKS STUDY WALL_TARGET_S: the whole sweep command, timed.
sweeps=
bench_sweep() {
	name=$1 ranks=$2 study=$root/$3 wall_t=$4
	best=''
	i=1
	while [ "$i" -le "$repeat" ]; do
		csv=$tmp/sweep-$i.csv
		log=$tmp/sweep-$i.log
		t0=$(now)
		$limiter sh "$root/tools/mpirun.sh" -np "$ranks" "$cimsim" sweep "$study" \
			--csv "$csv" --quiet >"$log" 2>&1
		rc=$?
		t1=$(now)
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ "$rc" -ne 0 ] || [ ! -s "$csv" ]; then
			echo "bench/run.sh: $name sweep $i/$repeat failed (exit $rc) after ${wall} s:" >&2
			tail -n 20 "$log" >&2
			fails=$((fails + 1))
			return
		fi
		echo "$name sweep $i/$repeat: $wall s" >&2
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$wall
		fi
		i=$((i + 1))
	done
	points=$(($(wc -l <"$csv") - 1))
	ran=$(grep -c ',ran,' "$csv")
	sweeps="$sweeps$(awk -v name="$name" -v ranks="$ranks" -v whole="$best" -v p="$points" \
		-v r="$ran" -v wt="$wall_t" 'BEGIN {
		printf "%-22s %5d %6d %4d %9.2f %9.2f  wall < %s s  %s\n", name, ranks, p, r,
		       whole, r ? whole / r : 0, wt, whole + 0 < wt + 0 ? "PASS" : "MISS"
	}')
"
}

# bench_serve NAME RANKS EXPERIMENT N...: a served load of N requests for
# each N (serving.requests), timed; requests per wall second of sim, and
# whether the cost per request stays flat: the largest N's within 25 % of
# the smallest's.
serves=
bench_serve() {
	name=$1 ranks=$2 exp=$root/$3 flags=$4
	shift 4
	first=''
	for n in "$@"; do
		json=$tmp/serve-$n.json
		log=$tmp/serve-$n.log
		t0=$(now)
		# shellcheck disable=SC2086
		$limiter sh "$root/tools/mpirun.sh" -np "$ranks" "$cimsim" run "$exp" $flags \
			--set serving.requests="$n" --json "$json" --quiet >"$log" 2>&1
		rc=$?
		t1=$(now)
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		if [ "$rc" -ne 0 ] || [ -z "$(sim_get "$json" wall_s)" ]; then
			echo "bench/run.sh: $name with $n requests failed (exit $rc) after ${wall} s:" >&2
			tail -n 20 "$log" >&2
			fails=$((fails + 1))
			return
		fi
		echo "$name, $n requests: $wall s" >&2
		sim=$(sim_get "$json" wall_s)
		per=$(awk -v s="$sim" -v n="$n" 'BEGIN { printf "%.6f", s / n }')
		[ -n "$first" ] || first=$per
		serves="$serves$(awk -v name="$name" -v ranks="$ranks" -v n="$n" -v whole="$wall" \
			-v sim="$sim" -v cpu="$(sim_get "$json" cpu_s)" -v per="$per" -v first="$first" \
			-v rss="$(sim_get "$json" peak_rss_mib_per_rank)" 'BEGIN {
			printf "%-18s %5d %8d %9.2f %9.2f %9.1f %10.1f %10.2f %9.1f  %s\n", name, ranks,
			       n, whole, sim, cpu, n / sim, 1000 * per, rss,
			       per + 0 <= 1.25 * first ? "PASS" : "MISS"
		}')
"
	done
}

# bench_accuracy NAME CHIP N K V: the functional mode on one N x K matrix of
# V vectors (cimsim accuracy --synthetic), timed: crossbar MVMs (one block
# of the crossbar's size, one vector) and weight-tokens per second.
accs=
bench_accuracy() {
	name=$1 chip=$root/$2 n=$3 k=$4 v=$5
	json=$tmp/acc-$name.json
	t0=$(now)
	$limiter "$cimsim" accuracy "$chip" --synthetic "$n" "$k" --vectors "$v" --json \
		>"$json" 2>"$tmp/acc-$name.log"
	rc=$?
	t1=$(now)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	xb=$(sed -n 's/^ *"crossbars": \([0-9]*\).*/\1/p' "$json" | head -n 1)
	if [ "$rc" -ne 0 ] || [ -z "$xb" ]; then
		echo "bench/run.sh: accuracy $name failed (exit $rc) after ${wall} s" >&2
		fails=$((fails + 1))
		return
	fi
	echo "accuracy $name: $wall s" >&2
	accs="$accs$(awk -v name="$name" -v n="$n" -v k="$k" -v v="$v" -v xb="$xb" -v w="$wall" \
		'BEGIN { printf "%-22s %11s %8d %9d %9.2f %12.1f %14.3g\n", name, n "x" k, v, xb, w,
			xb * v / w, n * k * v / w }')
"
}

# bench_fail NAME RANKS EXPERIMENT FAULT: a run in which one rank fails on
# purpose (CIMSIM_FAULT, docs/results.md), through tools/mpirun.sh: the
# seconds from the failing rank's message to the job's end (target: under
# 5, docs/robustness.md).
fail_rows=
bench_fail() {
	name=$1 ranks=$2 exp=$root/$3 fault=$4
	res=$({
		CIMSIM_FAULT=$fault $limiter sh "$root/tools/mpirun.sh" -np "$ranks" "$cimsim" run \
			"$exp" --quiet 2>&1 >/dev/null
		echo "rc=$?"
	} | {
		first=
		while IFS= read -r line; do
			case $line in
			"cimsim: rank"*) [ -n "$first" ] || first=$(now) ;;
			rc=*) rc=${line#rc=} ;;
			esac
		done
		echo "${first:-none} ${rc:-?} $(now)"
	})
	set -- $res
	if [ "$1" = none ] || [ "$2" = 0 ]; then
		echo "bench/run.sh: $name: no rank failed (exit $2)" >&2
		fails=$((fails + 1))
		return
	fi
	took=$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", b - a }')
	verdict=$(awk -v t="$took" 'BEGIN { print (t < 5 ? "under 5 s" : "MISSED 5 s") }')
	echo "failure $name: ended $took s after the error (exit $2)" >&2
	fail_rows="$fail_rows$(printf '%-10s %5s %-12s %8s %6s  %s' "$name" "$ranks" "$fault" "$took" "$2" \
		"$verdict")
"
}

# bench_scale LABEL RANKS SETS...: Llama-2-7B (configs/experiments/
# llama2-7b-8chips.yaml) with --set SETS, timed: CPU of the simulation loop
# per simulated chip-token (generated tokens × chips), and the whole run's
# wall time against `cimsim plan`'s (the analytical estimate's).
scale_rows=
bench_scale() {
	label=$1 ranks=$2 chips=$3 flags=$4
	shift 4
	sets=
	for kv in "$@"; do sets="$sets --set $kv"; done
	exp=$root/configs/experiments/llama2-7b-8chips.yaml
	json=$tmp/scale.json
	t0=$(now)
	# shellcheck disable=SC2086
	$limiter sh "$root/tools/mpirun.sh" -np "$ranks" "$cimsim" run "$exp" $sets $flags \
		--json "$json" --quiet >"$tmp/scale.log" 2>&1
	rc=$?
	t1=$(now)
	# shellcheck disable=SC2086
	"$cimsim" plan "$exp" $sets >/dev/null 2>&1
	t2=$(now)
	cpu=$(sim_get "$json" cpu_s)
	batch=$(obj_get "$json" workload batch)
	gen=$(obj_get "$json" workload generate_tokens)
	sc_toks=$(awk -v b="${batch:-0}" -v g="${gen:-0}" 'BEGIN { print b * g }')
	if [ "$rc" -ne 0 ] || [ -z "$cpu" ] || [ "$sc_toks" = 0 ]; then
		echo "bench/run.sh: scale $label failed (exit $rc)" >&2
		fails=$((fails + 1))
		return
	fi
	scale_rows="$scale_rows$(awk -v l="$label" -v r="$ranks" -v n="$chips" -v c="$cpu" \
		-v t="$sc_toks" -v a="$t0" -v b="$t1" -v e="$t2" 'BEGIN {
			printf "%-24s %5d %5d %9.2f %9.2f %12.0f %10.1f", l, r, n, b - a, c,
				c / (n * t) * 1e6, (b - a) / (e - b) }')
"
	echo "scale $label: done" >&2
}

toks=
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
echo "cimsim bench: $cimsim, $cores cores, load average $load before, best of $repeat" >&2

bench 7B/8 8 configs/experiments/llama2-7b-8chips.yaml 3 ''
bench 70B/64 64 configs/experiments/llama2-70b-64chips.yaml 60 32
# the same 64 chips, a TP group of 8 a rank (docs/performance.md)
bench 70B/64g 8 configs/experiments/llama2-70b-64chips.yaml 10 32 --tp-per-rank
bench_sweep llama2-7b-strategies 8 configs/studies/llama2-7b-strategies.yaml 60
bench_serve 7B/8-serving 8 configs/experiments/llama2-7b-serving.yaml '' 1000 10000
bench_serve 7B/8-serving-g 4 configs/experiments/llama2-7b-serving.yaml --tp-per-rank 1000 10000
bench_accuracy llm-class configs/chips/llm-class.yaml 4096 4096 4
bench_accuracy pcm-noise tests/data/chips/pcm-noise.yaml 4096 4096 4
# The scaling series (docs/performance.md): batch 8, 128 + 32 tokens.
W="workload.batch=8 workload.prompt_tokens=128 workload.generate_tokens=32"
for pp in 4 8 16 32; do
	# shellcheck disable=SC2086
	bench_scale "pp $pp (tp 2)" $((2 * pp)) $((2 * pp)) '' parallel.tp=2 parallel.pp=$pp $W
done
for tp in 4 8 16; do
	# shellcheck disable=SC2086
	bench_scale "tp $tp (pp 4)" $((4 * tp)) $((4 * tp)) '' parallel.tp=$tp parallel.pp=4 $W
done
for g in 64 128; do
	bench_scale "tokens 128+$g" 8 8 '' workload.batch=8 workload.prompt_tokens=128 \
		workload.generate_tokens=$g
done
for b in 16 32; do
	bench_scale "batch $b" 8 8 '' workload.batch=$b workload.prompt_tokens=128 \
		workload.generate_tokens=32
done
# The same series with a TP group a rank (--tp-per-rank).
for pp in 4 8 16 32; do
	# shellcheck disable=SC2086
	bench_scale "pp $pp (tp 2), group" "$pp" $((2 * pp)) --tp-per-rank parallel.tp=2 \
		parallel.pp=$pp $W
done
for tp in 4 8 16; do
	# shellcheck disable=SC2086
	bench_scale "tp $tp (pp 4), group" 4 $((4 * tp)) --tp-per-rank parallel.tp=$tp \
		parallel.pp=4 $W
done
for g in 64 128; do
	bench_scale "tokens 128+$g, group" 4 8 --tp-per-rank workload.batch=8 \
		workload.prompt_tokens=128 workload.generate_tokens=$g
done
for b in 16 32; do
	bench_scale "batch $b, group" 4 8 --tp-per-rank workload.batch=$b \
		workload.prompt_tokens=128 workload.generate_tokens=32
done
bench_fail 7B/8 8 configs/experiments/llama2-7b-8chips.yaml kv:3:4
bench_fail 70B/64 64 configs/experiments/llama2-70b-64chips.yaml kv:37:2

report() {
	echo "cimsim bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $cores cores, best of $repeat"
	printf '%-7s %5s %9s %9s %9s %9s %10s %11s %9s  %-26s %s\n' \
		run ranks 'wall s' 'sim s' 'start s' 'CPU s' events 'events/s' 'RSS MiB' \
		target verdict
	printf '%s' "$rows"
	printf '%s' "$toks"
	if [ -n "$sweeps" ]; then
		printf '%-22s %5s %6s %4s %9s %9s  %s\n' study ranks points ran 'wall s' \
			's/point' 'target verdict'
		printf '%s' "$sweeps"
	fi
	if [ -n "$serves" ]; then
		printf '%-18s %5s %8s %9s %9s %9s %10s %10s %9s  %s\n' served ranks requests \
			'wall s' 'sim s' 'CPU s' 'req/sim s' 'ms/req' 'RSS MiB' \
			'flat (within 25% of the first)'
		printf '%s' "$serves"
	fi
	if [ -n "$accs" ]; then
		printf '%-22s %11s %8s %9s %9s %12s %14s\n' functional matrix vectors crossbars \
			'wall s' 'MVMs/s' 'weight-tok/s'
		printf '%s' "$accs"
	fi
	if [ -n "$scale_rows" ]; then
		printf '%-24s %5s %5s %9s %9s %12s %10s\n' 'scaling (7B)' ranks chips 'wall s' \
			'CPU s' 'CPU us/c-tok' 'run/plan'
		printf '%s' "$scale_rows"
	fi
	if [ -n "$fail_rows" ]; then
		printf '%-10s %5s %-12s %8s %6s  %s\n' failure ranks fault 'end s' exit target
		printf '%s' "$fail_rows"
	fi
	echo "wall: whole command (mpirun start-up, simulation, report); sim: simulation"
	echo "loop, slowest rank; start = wall - sim; CPU: sum over ranks of the loop;"
	echo "RSS: peak resident memory of the largest rank."
	[ "$fails" -eq 0 ] || echo "$fails run(s) FAILED"
}

if [ -n "$out" ]; then
	report | tee "$out"
else
	report
fi
[ "$fails" -eq 0 ] || exit 1
exit 0
