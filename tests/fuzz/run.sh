#!/bin/sh
# run.sh HARNESS CORPUS SECONDS SEED_DIR...: fuzzes for SECONDS from the
# seeds with libFuzzer's seed 1, keeping what it finds in CORPUS (a build
# directory), and prints the last status line: inputs run, coverage.
# Passes when libFuzzer finds nothing (it exits non-zero on a finding).
set -u
harness=$1
corpus=$2
seconds=$3
shift 3
mkdir -p "$corpus"
log=$corpus.log
"$harness" -seed=1 -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
	-print_final_stats=1 "$corpus" "$@" >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+.*(DONE|pulse|NEW)' "$log" | tail -n 1
grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log"
[ "$rc" -eq 0 ] || { echo "libFuzzer found something (exit $rc):"; tail -n 60 "$log"; }
exit "$rc"
