#!/bin/sh
# expect.sh CODE PATTERN COMMAND...: runs COMMAND and passes when it exits
# with CODE and its output (stdout and stderr) matches the extended regular
# expression PATTERN.  For command-line and multi-rank tests in CTest.
code=$1
pattern=$2
shift 2
out=$("$@" 2>&1)
got=$?
if [ "$got" != "$code" ]; then
	printf 'expected exit code %s, got %s from: %s\n%s\n' "$code" "$got" "$*" "$out"
	exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
	printf 'output of %s does not match /%s/:\n%s\n' "$*" "$pattern" "$out"
	exit 1
fi
exit 0
