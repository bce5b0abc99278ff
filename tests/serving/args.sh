# args.sh — read by the served-load tests (`. "$(dirname "$0")/args.sh"`):
# takes FIRST MPIRUN... -- CIMSIM EXPERIMENT off the script's arguments,
# setting first (the script's own first argument: an output prefix or a
# scheduler), mpirun (the launcher and its flags), cimsim and exp; what
# follows EXPERIMENT stays in "$@".
first=$1
shift
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
cimsim=$1 exp=$2
shift 2
