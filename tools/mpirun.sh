#!/bin/sh
# Runs mpirun with what this machine needs: --allow-run-as-root as root,
# --oversubscribe when there are more ranks than cores, and no single-copy
# mechanism (containers often forbid process_vm_readv).  Waiting ranks yield
# the CPU unless told otherwise: when Open MPI is not told ranks outnumber
# cores (a hostfile, --host) they would spin, 190 times slower here
# (docs/performance.md).
#
# Ending fast (docs/robustness.md).  Open MPI 4.1's mpirun, ending a job
# (a rank's error, a signal), sends the ranks SIGCONT, sleeps its kill
# timeout, sends SIGTERM, sleeps it again, then SIGKILL.  cimsim's ranks do
# not wait for that: a failing rank tells the others itself, each saves its
# trace, and they end together.  mpirun still sleeps its two timeouts once
# the first has ended, so the job ends about 2 timeouts after the error:
# the timeout is Open MPI's own 1 s, or 2 s when the run writes a trace
# (--trace), the time to save it; 64 ranks end in 2.1 s and 4.0 s (bench/).  A Ctrl-C is handed to mpirun as SIGUSR1, which mpirun
# forwards to every rank at once: each stops at its next step, saves its
# trace and ends (mpirun's own SIGINT would reach them only as SIGTERM after
# the timeout).  A second Ctrl-C is mpirun's SIGINT: it ends the job.
set -eu
flags="--oversubscribe"
[ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}"
grace=1
for a in "$@"; do
	case $a in --trace | --trace=*) grace=2 ;; esac
done
export OMPI_MCA_odls_base_sigkill_timeout="${OMPI_MCA_odls_base_sigkill_timeout:-$grace}"
# Without a terminal there is no Ctrl-C to hand on: plain exec.
if ! [ -t 0 ] && ! [ -t 2 ]; then
	exec mpirun $flags "$@"
fi
interrupts=0
on_int() {
	interrupts=$((interrupts + 1))
	if [ "$interrupts" = 1 ]; then
		kill -USR1 "$pid" 2>/dev/null || true
	else
		kill -INT "$pid" 2>/dev/null || true
	fi
}
mpirun $flags "$@" &
pid=$!
trap on_int INT
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM
set +e
while :; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
