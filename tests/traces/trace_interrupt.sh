#!/bin/sh
# trace_interrupt.sh TARGET SIGNAL LEVEL EXPORT DIR MPIRUN... -- CIMSIM
# EXPERIMENT: starts a long run of EXPERIMENT on 8 ranks, traced at LEVEL
# into DIR, in the background; waits until every rank has written records;
# sends SIGNAL (TERM or INT) to TARGET; and passes when the run ends with a
# non-zero status and every rank's file reads back as partial, ending with
# a trailer that names the signal the rank got.  TARGET is `mpirun` (as a
# user's Ctrl-C), `ranks` (every rank at once, as a batch system ending a
# job) or `ranks:LIST` (those ranks only, e.g. 6,7: the last stage stops,
# the other ranks are left waiting for a token that never comes until Open
# MPI, after the stopped ranks' MPI_Abort, sends them SIGTERM).  The reader
# checks such a trailer's record counts and energy totals against the
# records it read, so nothing the rank recorded was lost.  `trace summary`
# must use the files and name every rank partial, `--strict` must refuse
# them; with EXPORT `export`, so must `trace export` (at level op the files
# of an interrupted run hold millions of records, whose export takes too
# long for a test).
#
# The writers use 64 KiB buffers (CIMSIM_TRACE_BUFFER) so that the files
# grow from the first steps.  A run that ends before the signal reaches it
# proves nothing: the test then tries a longer one, and fails if even that
# was too short.  Every wait is bounded: 20 s for the first records, 30 s
# for mpirun to end after the signal (it needs about 2 s, see below).
#
# LEVEL `none` runs untraced (EXPORT is then ignored): every run installs
# the handlers (coordinator/signals.c), so an untraced run must stop the
# same way.  There are no files to wait for, so the run counts as under way
# once every rank catches SIGTERM (its SigCgt in /proc/PID/status: the
# handlers are installed just before the executor starts).  Open MPI 4.1's
# mpirun, told to stop, sends the ranks SIGCONT, SIGTERM only after the
# kill timeout T (OMPI_MCA_odls_base_sigkill_timeout; CMake gives 10 s),
# then SIGKILL after another T, and ends after that, exit status 1 whatever
# the ranks did; a rank that called MPI_Abort waits for that SIGKILL too
# (its process ends at 2T, not when it stopped).  So "promptly" is asked of
# what the ranks say: a rank has said "interrupted at step" or
# "interrupted waiting" within T + 2 s of the signal, well before the
# SIGKILL at 2T (a rank that ignored its SIGTERM, or hung in a blocking MPI
# call, would say nothing).  mpirun forwards the ranks' output only when it
# wakes for the SIGKILL, so each rank writes its stderr to DIR.rank-N.err
# itself (through sh), and those files are watched; mpirun ends non-zero within 2T + 10 s (no
# hang); and no rank process is left 5 s after.  An untraced run is fast, so it runs
# 64 sequences (3900 tokens take well over 2T).
set -u
target=$1
sig=$2
level=$3
export=$4
dir=$5
shift 5
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
cimsim=$1
exp=$2
np=8
buffer=65536

fail() {
	echo "FAIL: $*"
	[ -f "$dir.log" ] && { echo "--- run output:"; cat "$dir.log"; }
	for f in "$dir".rank-*.err; do
		[ -f "$f" ] && { echo "--- $f:"; cat "$f"; }
	done
	exit 1
}

# ranks_of PID: the pids of mpirun PID's children, the ranks (field 4 of
# /proc/PID/stat is the parent's pid).
ranks_of() {
	awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null
}

# kill_run PID: SIGKILL to mpirun PID and its ranks; a failed test leaves
# no rank behind.
kill_run() {
	for k in $(ranks_of "$1"); do kill -9 "$k" 2>/dev/null; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# wait_exit PID TENTHS: waits up to TENTHS tenths of a second for PID to end;
# returns 0 when it ended; i is then the tenths it waited.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$i" -ge "$2" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 0
}

# said: true when a rank has written that it stopped on its signal.
said() {
	cat "$dir".rank-*.err 2>/dev/null |
		grep -Eq "cimsim: rank [0-9]+: interrupted (at step|waiting)"
}

# catching PID: how many of mpirun PID's ranks catch SIGTERM (signal 15,
# bit 14 of SigCgt; the low 32 bits are taken, as the shell's arithmetic is
# signed).
catching() {
	n=0
	for k in $(ranks_of "$1"); do
		m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$k/status" 2>/dev/null)
		[ -n "$m" ] || continue
		[ $((0x${m#????????} & 0x4000)) -ne 0 ] && n=$((n + 1))
	done
	echo "$n"
}

# One attempt with TOKENS generated tokens: 0 = interrupted as wanted, 2 =
# the run ended before the signal reached it, anything else = failure.
attempt() {
	tokens=$1
	rm -rf "$dir" "$dir.log" "$dir".rank-*.err
	if [ "$level" = none ]; then
		# shellcheck disable=SC2016,SC2086
		CIM_ERR="$dir" $mpirun -np $np \
			sh -c 'exec "$0" "$@" 2> "$CIM_ERR.rank-$OMPI_COMM_WORLD_RANK.err"' \
			"$cimsim" run "$exp" --set workload.generate_tokens="$tokens" --quiet \
			--set workload.batch=64 > "$dir.log" 2>&1 &
	else
		# shellcheck disable=SC2086
		CIMSIM_TRACE_BUFFER=$buffer $mpirun -np $np "$cimsim" run "$exp" \
			--set workload.generate_tokens="$tokens" --quiet --trace "$dir" \
			--trace-level "$level" > "$dir.log" 2>&1 &
	fi
	pid=$!
	# Every rank has handed at least one full buffer to the disk (untraced:
	# every rank catches SIGTERM): the run is under way and its signal
	# handlers are installed.
	i=0
	while :; do
		if [ "$level" = none ]; then
			ready=$(catching "$pid")
		else
			ready=$(find "$dir" -name 'rank-*.cimtrace' -size +$((buffer / 1024))k \
				2>/dev/null | wc -l)
		fi
		[ "$ready" -eq "$np" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			echo "run with $tokens tokens ended (status $?) before every rank wrote a buffer"
			return 2
		fi
		# 20 s: MPI start-up of 8 ranks on a loaded 2-core machine included
		[ "$i" -ge 200 ] && { kill_run "$pid"; fail "no records after 20 s"; }
		sleep 0.1
		i=$((i + 1))
	done
	kids=$(ranks_of "$pid")
	if [ "$target" != mpirun ]; then
		# Open MPI puts each rank's number in its environment.
		[ "$(printf '%s\n' "$kids" | wc -w)" -eq "$np" ] ||
			{ kill_run "$pid"; fail "found ranks '$kids' under mpirun $pid"; }
		pids=""
		for k in $kids; do
			r=$(tr '\0' '\n' < "/proc/$k/environ" 2>/dev/null |
				sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
			case ",${target#ranks:}," in
			,ranks,|*",$r,"*) pids="$pids $k" ;;
			esac
		done
		[ -n "$pids" ] || { kill_run "$pid"; fail "no rank of $target under mpirun"; }
		# shellcheck disable=SC2086
		kill -"$sig" $pids 2>/dev/null || { wait "$pid"; return 2; }
	else
		kill -"$sig" "$pid" 2>/dev/null || { wait "$pid"; return 2; }
	fi
	if [ "$level" = none ]; then
		# tenths: when a rank said it stopped, and when mpirun ended
		i=0
		gone=""
		while kill -0 "$pid" 2>/dev/null; do
			[ -z "$gone" ] && said && gone=$i
			if [ "$i" -ge $((20 * kill_s + 100)) ]; then
				kill_run "$pid"
				fail "mpirun still running $((2 * kill_s + 10)) s after SIG$sig"
			fi
			sleep 0.1
			i=$((i + 1))
		done
		[ -n "$gone" ] || { said && gone=$i; } || gone=never
	elif ! wait_exit "$pid" 300; then
		kill_run "$pid"
		fail "mpirun still running 30 s after SIG$sig"
	fi
	took=$i
	wait "$pid"
	status=$?
	if ! cat "$dir.log" "$dir".rank-*.err 2>/dev/null |
		grep -q "cimsim: rank [0-9]*: interrupted"; then
		# the signal came after the last step: the run was too short
		echo "run with $tokens tokens was not interrupted (status $status)"
		return 2
	fi
	[ "$status" -ne 0 ] || fail "an interrupted run exited with status 0"
	if [ "$level" = none ]; then
		[ "$gone" != never ] || fail "no rank said it was interrupted at a step or waiting"
		[ "$gone" -le $((10 * kill_s + 20)) ] ||
			fail "a rank said it was interrupted $gone tenths of a second after SIG$sig" \
				"to mpirun, more than ${kill_s} s (when the ranks get SIGTERM) + 2 s"
		# (a zombie is not running: it waits for whoever adopted it to reap it).
		# A rank that mpirun killed as it ended may still be tearing down its
		# address space (under the sanitizers, terabytes of shadow mappings):
		# it has 5 s to go before it counts as left behind.
		for k in $kids; do
			j=0
			while :; do
				st=$(awk '{ print $3 }' "/proc/$k/stat" 2>/dev/null)
				[ -z "$st" ] || [ "$st" = Z ] && break
				[ "$j" -ge 50 ] &&
					fail "rank process $k is still running (state $st) 5 s after mpirun ended"
				sleep 0.1
				j=$((j + 1))
			done
		done
		n=$(cat "$dir".rank-*.err | grep -Ec "cimsim: rank [0-9]+: interrupted")
		echo "untraced: a rank said it stopped $gone and mpirun ended $took tenths after" \
			"SIG$sig (kill timeout ${kill_s} s); $n rank(s) said they were interrupted:"
		cat "$dir".rank-*.err | grep -E "cimsim: rank [0-9]+: interrupted"
	fi
	echo "SIG$sig stopped the run with $tokens tokens; mpirun exit status $status"
	return 0
}

kill_s=${OMPI_MCA_odls_base_sigkill_timeout:-1}
# mpirun hands the ranks their SIGTERM only after the kill timeout, so a run
# must outlast it: traced, 1024 tokens take about 2.5 s here, 3900 about 9 s
# (CMake gives the traced tests a 4 s timeout for that reason).
tries="1024 3900"
if [ "$level" = none ]; then
	tries=3900
	# T + 2 s must come well before 2T
	[ "$kill_s" -ge 4 ] ||
		fail "OMPI_MCA_odls_base_sigkill_timeout is $kill_s s: give at least 4 (CMake gives 10)"
fi
rc=2
for tokens in $tries; do
	attempt "$tokens"
	rc=$?
	[ "$rc" -eq 2 ] || break
done
[ "$rc" -eq 2 ] && fail "even 3900 tokens ended before SIG$sig arrived"
[ "$rc" -eq 0 ] || exit 1
if [ "$level" = none ]; then
	rm -rf "$dir" "$dir.log" "$dir".rank-*.err
	exit 0
fi

# The signal each trailer names, as an extended regular expression.  Open
# MPI's mpirun meets SIGINT and SIGTERM alike: SIGCONT to every rank,
# SIGTERM a second later, SIGKILL a second after that; and when a rank
# calls MPI_Abort it sends the others SIGTERM the same way.
signame='signal 15 \(SIGTERM\)'
if [ "$sig" = INT ]; then
	case $target in
	ranks) signame='signal 2 \(SIGINT\)' ;;
	ranks:*) signame='signal (2 \(SIGINT\)|15 \(SIGTERM\))' ;;
	esac
fi

# Every rank wrote its file, and each ends with a trailer marked partial
# whose counts and energy totals match the records read (the reader checks
# them: a record lost would be an error).  A rank that stops on a signal
# tells the others at once (docs/robustness.md), so a rank's trailer names
# the signal or says another rank failed, whichever reached it first; a rank
# the signal was sent to (ranks:LIST) names it, and so does at least one.
out=$("$cimsim" trace summary "$dir" 2>&1) || fail "trace summary failed: $out"
r=0
all=""
named=0
while [ "$r" -lt "$np" ]; do
	f=$(printf 'rank-%05d.cimtrace' "$r")
	mark="$f: partial: .*the trailer marks the trace partial"
	if printf '%s\n' "$out" | grep -Eq "$mark \(interrupted by $signame\)"; then
		named=$((named + 1))
	else
		case ",${target#ranks:}," in
		*,"$r",*) fail "rank $r, sent SIG$sig, has no trailer marked partial by $signame:
$out" ;;
		esac
		printf '%s\n' "$out" | grep -Eq "$mark \(another rank failed\)" ||
			fail "rank $r: no trailer marked partial by $signame or another rank:
$out"
	fi
	all="$all rank $r"
	r=$((r + 1))
done
[ "$named" -ge 1 ] || fail "no rank's trailer names $signame:
$out"
printf '%s\n' "$out" | grep -q "^$np of $np ranks traced, .*; partial:$all\$" ||
	fail "the summary does not name every rank partial:
$out"

out=$("$cimsim" trace summary "$dir" --strict 2>&1)
[ $? -eq 2 ] || fail "trace summary --strict accepted partial files: $out"
printf '%s\n' "$out" | grep -q "partial" || fail "trace summary --strict: $out"

if [ "$export" = export ]; then
	out=$("$cimsim" trace export "$dir" -o "$dir/trace.json" 2>&1) ||
		fail "trace export: $out"
	partial=$(printf '%s' "$all" | sed 's/ rank /,/g; s/^,//')
	grep -q "\"partial_ranks\":\\[$partial\\]" "$dir/trace.json" ||
		fail "the export does not list ranks $partial as partial"
	out=$("$cimsim" trace export "$dir" -o "$dir/never.json" --strict 2>&1)
	[ $? -eq 2 ] || fail "trace export --strict accepted partial files: $out"
	[ ! -e "$dir/never.json" ] || fail "trace export --strict left $dir/never.json"
fi
echo "every rank's file is partial, readable and complete up to SIG$sig"
rm -rf "$dir" # hundreds of MB
exit 0
