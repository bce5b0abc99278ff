#!/bin/sh
# Runs mpirun with what this machine needs: --allow-run-as-root as root,
# --oversubscribe when there are more ranks than cores, and no single-copy
# mechanism (containers often forbid process_vm_readv).  Waiting ranks yield
# the CPU unless told otherwise: when Open MPI is not told ranks outnumber
# cores (a hostfile, --host) they would spin, 190 times slower here
# (docs/performance.md).  A rank Open MPI asks to stop (SIGTERM: Ctrl-C,
# another rank's error) gets 10 s, not 1, before SIGKILL, to save its trace
# (docs/traces.md).
set -eu
flags="--oversubscribe"
[ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}"
export OMPI_MCA_odls_base_sigkill_timeout="${OMPI_MCA_odls_base_sigkill_timeout:-10}"
exec mpirun $flags "$@"
