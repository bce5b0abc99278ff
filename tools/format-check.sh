#!/bin/sh
# Checks that every C source and header is laid out as .clang-format says,
# with clang-format 14 (Debian's clang-format-14): formatting is checked with
# one pinned version because other versions lay out the same code
# differently.  It does not build anything and never changes a file unless
# asked to.
#
#   tools/format-check.sh          list the files clang-format would change;
#                                  exit 1 when there is any
#   tools/format-check.sh --fix    format those files in place (clang-format -i)
#
# The files are the tracked *.c and *.h (git ls-files) in a git checkout,
# otherwise every *.c and *.h under the tree except build folders.
# CLANG_FORMAT=/path/to/clang-format picks the binary; it must still be 14.
# Exit status: 0 formatted, 1 files to format, 2 cannot check.
set -eu
cd "$(dirname "$0")/.."

PKG=clang-format-14
WANT=14

usage()
{
	echo "usage: tools/format-check.sh [--fix]" >&2
	exit 2
}

fix=false
case $#:${1:-} in
0:) ;;
1:--fix) fix=true ;;
*) usage ;;
esac

# The major version of clang-format binary $1, or nothing.
major()
{
	"$1" --version 2>/dev/null | sed -n 's/.*clang-format version \([0-9][0-9]*\)\..*/\1/p' | head -n 1
}

if [ -n "${CLANG_FORMAT:-}" ]; then
	candidates=$CLANG_FORMAT
else
	candidates="clang-format-$WANT clang-format"
fi
CF=""
found=""
for c in $candidates; do
	if ! command -v "$c" >/dev/null 2>&1; then
		if [ -n "${CLANG_FORMAT:-}" ]; then
			found="$found $c (not found)"
		fi
		continue
	fi
	v=$(major "$c")
	if [ "$v" = "$WANT" ]; then
		CF=$c
		break
	fi
	found="$found $c (version ${v:-unknown})"
done
if [ -z "$CF" ]; then
	echo "format-check: need clang-format $WANT, the version the formatting is pinned to;" >&2
	if [ -n "$found" ]; then
		echo "format-check: found only:$found" >&2
	else
		echo "format-check: found no clang-format" >&2
	fi
	echo "format-check: install the Debian package $PKG (sh tools/setup.sh does;" >&2
	echo "format-check: or: apt-get install -y $PKG)" >&2
	exit 2
fi

if [ ! -f .clang-format ]; then
	echo "format-check: no .clang-format in $(pwd)" >&2
	exit 2
fi

# The files to check, one a line.
list_files()
{
	if command -v git >/dev/null 2>&1 &&
		top=$(git rev-parse --show-toplevel 2>/dev/null) &&
		[ "$(cd "$top" && pwd -P)" = "$(pwd -P)" ]; then
		git ls-files -- '*.c' '*.h'
	else
		# Not a checkout (a tarball): skip .git and CMake build folders,
		# whatever they are called.
		find . -type d \( -name .git -o -name 'build*' -o -name CMakeFiles \) -prune -o \
			-type d -exec test -f '{}/CMakeCache.txt' ';' -prune -o \
			-type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/format-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT PIPE TERM
list_files >"$tmp/all"

# Writes to $tmp/bad the files of $tmp/all clang-format would change; exits
# 2 when clang-format fails for another reason (a bad .clang-format, a file
# it cannot read).
check()
{
	: >"$tmp/bad"
	n=0
	while IFS= read -r f; do
		# A file deleted but not yet unstaged is not there to check.
		[ -f "$f" ] || continue
		n=$((n + 1))
		if ! "$CF" --dry-run --Werror "$f" >/dev/null 2>"$tmp/err"; then
			if grep -q 'clang-format-violations' "$tmp/err"; then
				printf '%s\n' "$f" >>"$tmp/bad"
			else
				echo "format-check: $CF failed on $f:" >&2
				cat "$tmp/err" >&2
				exit 2
			fi
		fi
	done <"$tmp/all"
	nfiles=$n
}

check
nbad=$(wc -l <"$tmp/bad" | tr -d ' ')
version=$("$CF" --version | sed -n 's/.*clang-format version \([^ ]*\).*/\1/p')

if [ "$nbad" = 0 ]; then
	echo "format-check: all $nfiles C files are formatted (clang-format $version)"
	exit 0
fi

if ! $fix; then
	echo "format-check: $nbad of $nfiles C files are not formatted as .clang-format says" >&2
	echo "format-check: (clang-format $version):" >&2
	sed 's/^/    /' "$tmp/bad" >&2
	echo "format-check: to format them: tools/format-check.sh --fix  (or: make format)" >&2
	exit 1
fi

# clang-format 14 does not always settle in one pass (macro lists it does not
# recognise as statements), so format until the check passes, a few times
# at most.
echo "format-check: formatting $nbad files with clang-format $version:"
sed 's/^/    /' "$tmp/bad"
pass=0
while [ -s "$tmp/bad" ]; do
	pass=$((pass + 1))
	if [ "$pass" -gt 5 ]; then
		echo "format-check: clang-format $version still changes these after 5 passes:" >&2
		sed 's/^/    /' "$tmp/bad" >&2
		echo "format-check: add the macros they invoke without a semicolon to" >&2
		echo "format-check: StatementMacros in .clang-format, or fence them with" >&2
		echo "format-check: /* clang-format off */ ... /* clang-format on */" >&2
		exit 1
	fi
	while IFS= read -r f; do
		"$CF" -i "$f"
	done <"$tmp/bad"
	cp "$tmp/bad" "$tmp/all"
	check
done
echo "format-check: done; review with git diff"
