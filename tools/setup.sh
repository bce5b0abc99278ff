#!/bin/sh
# Installs the Debian packages cimsim needs when any is missing: directly
# as root, with sudo otherwise; when neither can, says which to install.
# clang-format-14 is the formatter the C files are checked with
# (tools/format-check.sh), pinned by version: not the unversioned clang-format.
set -eu

PKGS="build-essential cmake pkg-config libopenmpi-dev openmpi-bin libuv1-dev \
libmsgpack-dev libcunit1-dev libyaml-dev gnuplot-nox clang-format-14 \
clang-14 libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "cimsim: installing missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "cimsim: cannot install packages (not root, and no password-less sudo)." >&2
	echo "cimsim: ask an administrator to run:" >&2
	echo "    apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q $missing; then
	# A fresh machine has no package lists yet.
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q $missing
fi
