#!/bin/sh
# json-get.sh FILE a.b.c: prints the value at that dotted path of a JSON file
# as cimsim writes it (one key a line, objects and lists opened at the ends of
# lines); an element of a list is the path part "[]".  Exits 1 when the path
# is not there.  Used by tools/validate.sh and docs/studies/moe-64chips.sh.
set -eu
[ $# -eq 2 ] || { echo "usage: sh tools/json-get.sh FILE a.b.c" >&2; exit 2; }
awk -v want="$2" '
	BEGIN { depth = 0 }
	NR == 1 { next } # the root object
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		if (line ~ /^[]}]/) { depth--; next }
		if (line ~ /^[[{]/) { path[depth++] = "[]"; next } # an element of a list
		if (match(line, /^"[^"]*":/)) {
			key = substr(line, 2, RLENGTH - 3)
			rest = substr(line, RLENGTH + 1)
			sub(/^[ \t]+/, "", rest)
			path[depth] = key
			p = path[0]
			for (i = 1; i <= depth; i++) p = p "." path[i]
			if (rest ~ /^[[{]/ && rest !~ /^\[\]/ && rest !~ /^\{\}/) { depth++; next }
			if (p == want) { sub(/,$/, "", rest); print rest; found = 1; exit }
		}
	}
	END { if (!found) exit 1 }' "$1"
