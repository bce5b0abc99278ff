#!/bin/sh
# replay.sh HARNESS DIR: runs HARNESS once on every file of DIR (the inputs
# that once crashed or hung a reader); passes when none fails.
set -u
harness=$1
dir=$2
set -- "$dir"/*
[ -e "$1" ] || { echo "replay.sh: no inputs in $dir"; exit 1; }
exec "$harness" -timeout=5 -rss_limit_mb=2048 "$@"
