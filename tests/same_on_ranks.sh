#!/bin/sh
# same_on_ranks.sh MPIRUN... -- COMMAND...: runs COMMAND (which prints JSON)
# on 1 rank and on 3 ranks and passes when the outputs are identical but for
# the "ranks" line, so results never depend on the rank layout.
mpirun=""
while [ "$1" != "--" ]; do mpirun="$mpirun $1"; shift; done
shift
one=$($mpirun -np 1 "$@") || { echo "1 rank failed"; exit 1; }
three=$($mpirun -np 3 "$@") || { echo "3 ranks failed"; exit 1; }
a=$(printf '%s\n' "$one" | grep -v '"ranks"')
b=$(printf '%s\n' "$three" | grep -v '"ranks"')
printf '%s\n' "$three" | grep -q '"ranks": 3' || { echo "did not run on 3 ranks"; exit 1; }
[ -n "$a" ] && [ "$a" = "$b" ] && exit 0
echo "outputs differ between 1 and 3 ranks:"
printf '%s\n' "$one" > /tmp/cimsim-one.$$; printf '%s\n' "$three" > /tmp/cimsim-three.$$
diff /tmp/cimsim-one.$$ /tmp/cimsim-three.$$; rm -f /tmp/cimsim-one.$$ /tmp/cimsim-three.$$
exit 1
