#!/bin/sh
# Runs mpirun with what this machine needs: --allow-run-as-root as root,
# --oversubscribe when there are more ranks than cores, and no single-copy
# mechanism (containers often forbid process_vm_readv).
set -eu
flags="--oversubscribe"
[ "$(id -u)" = 0 ] && flags="$flags --allow-run-as-root"
export OMPI_MCA_btl_vader_single_copy_mechanism=none
exec mpirun $flags "$@"
