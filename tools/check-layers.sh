#!/bin/sh
# check-layers.sh [ROOT]: checks that the source folders of ROOT (default:
# the repository this script lives in) include one another only along the
# project's dependency order, and that no folders include one another in a
# cycle.
#
# It reads every quoted include (#include "name.h") of ROOT/FOLDER/*.c and
# *.h, for each FOLDER of the table below that exists, and finds the folder
# that holds name.h: the including file's own folder first, else the one
# folder of the table that has a file of that name (two such folders is an
# error), else any other top-level folder of ROOT (tests/, bench/, node/...:
# an include of it is reported like any other forbidden one).  A name with
# a '/' is taken relative to the including file, then to ROOT.  A name
# found nowhere in ROOT is a system or third-party header (mpi.h, uv.h,
# yaml.h, CUnit/Basic.h...) and is not checked; <...> includes are never
# read.  Folders not in the table (tests/, bench/, build/...) are not
# scanned.
#
# Prints "layers: ok (N includes in M files)" and exits 0, or one line per
# problem (paths relative to ROOT) and exits 1; exits 2 on a usage error.

# The dependency order: the one statement of it.  Each line is
# "FOLDER: the folders it may include headers of" (besides its own).  A
# folder may name only folders above it, so the order cannot have a cycle.
#   spec         the specs: chips, networks, models, experiments, studies
#   chip         one chip's model                          (above it: spec)
#   interconnect the network between chips                 (above it: spec)
#   partitioner  the split of a model onto chips
#   exec         the executor of a partitioned program
#   traces       a probe of exec's records
#   coordinator  the command line, runs, reports and sweeps: all of the above
LAYERS='
spec:
chip:         spec
interconnect: spec
partitioner:  spec chip interconnect
exec:         spec chip interconnect partitioner
traces:       spec chip interconnect partitioner exec
coordinator:  spec chip interconnect partitioner exec traces
'

usage='usage: tools/check-layers.sh [ROOT]'
case $1 in
-h|--help) printf '%s\n' "$usage"; exit 0 ;;
esac
if [ $# -gt 1 ]; then
	printf '%s\n' "$usage" >&2
	exit 2
fi
if [ $# -eq 1 ]; then
	root=$1
else
	root=$(dirname -- "$0")/..
fi
if ! root=$(cd -- "$root" 2>/dev/null && pwd -P); then
	printf 'check-layers: %s: no such folder\n' "$1" >&2
	exit 2
fi

# The files to read, and the files any include may name: one line each,
# "scan FOLDER PATH" or "have FOLDER NAME", PATH relative to ROOT.
list() {
	for dir in "$root"/*/; do
		folder=${dir%/}
		folder=${folder##*/}
		case $folder in
		build|build-*|build_*|.*) continue ;;
		esac
		for f in "$dir"*; do
			[ -f "$f" ] && printf 'have %s %s\n' "$folder" "${f##*/}"
		done
	done
	printf '%s\n' "$LAYERS" | while read -r folder deps; do
		folder=${folder%:}
		[ -n "$folder" ] && [ -d "$root/$folder" ] || continue
		for f in "$root/$folder"/*.c "$root/$folder"/*.h; do
			[ -f "$f" ] && printf 'scan %s %s\n' "$folder" "$folder/${f##*/}"
		done
	done
}

list | CHECK_LAYERS_ROOT=$root LC_ALL=C awk -v layers="$LAYERS" '
function fail(msg) { print msg; problems++ }
function includes(n) { return n " include" (n == 1 ? "" : "s") }

# PATH with "." and ".." taken out; "" when it leaves ROOT.
function normal(path,    n, part, out, k, i) {
	n = split(path, part, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "" || part[i] == ".") continue
		if (part[i] == "..") { if (k == 0) return ""; k--; continue }
		out[++k] = part[i]
	}
	path = ""
	for (i = 1; i <= k; i++) path = path (i > 1 ? "/" : "") out[i]
	return path
}

function exists(path,    line, r) {
	r = (getline line < (root "/" path))
	if (r >= 0) close(root "/" path)
	return r >= 0
}

# Sets found_folder and found_path for NAME included by FILE of FOLDER;
# returns 1, or 0 when NAME is not in ROOT (external), or -1 when it is
# in two folders of the order (reported here).
function resolve(name, file, folder, where,    dir, p, f, n, list, tail) {
	if (index(name, "/")) {
		dir = file; sub(/\/[^\/]*$/, "", dir)
		p = normal(dir "/" name)
		if (p == "" || !exists(p)) p = normal(name)
		if (p == "" || !exists(p) || !index(p, "/")) return 0
		found_path = p
		found_folder = substr(p, 1, index(p, "/") - 1)
		return 1
	}
	if ((folder SUBSEP name) in have) {
		found_folder = folder; found_path = folder "/" name
		return 1
	}
	n = 0; list = ""
	for (f = 1; f <= nlayers; f++)
		if ((order[f] SUBSEP name) in have) {
			n++; found_folder = order[f]
			list = list (n > 1 ? " and " : "") order[f] "/" name
		}
	if (n > 1) {
		fail(where ": \"" name "\" is ambiguous: it is both " list)
		return -1
	}
	if (n == 0) {
		for (f in others)
			if ((f SUBSEP name) in have) {
				n++; found_folder = f
				list = list (n > 1 ? " and " : "") f "/" name
			}
		if (n > 1) {
			fail(where ": \"" name "\" is ambiguous: it is both " list)
			return -1
		}
	}
	if (n == 0) return 0
	found_path = found_folder "/" name
	return 1
}

function allowed_list(folder,    s, i, n, d) {
	n = split(deps[folder], d, " ")
	if (n == 0) return "its own folder"
	s = d[1]
	for (i = 2; i <= n; i++) s = s ", " d[i]
	return s
}

BEGIN {
	root = ENVIRON["CHECK_LAYERS_ROOT"]
	n = split(layers, line, "\n")
	for (i = 1; i <= n; i++) {
		if (line[i] !~ /[^ \t]/) continue
		f = line[i]; sub(/:.*/, "", f); gsub(/[ \t]/, "", f)
		d = line[i]; sub(/^[^:]*:/, "", d)
		order[++nlayers] = f; rank[f] = nlayers; deps[f] = ""
		m = split(d, dl, " ")
		for (j = 1; j <= m; j++) {
			if (!(dl[j] in rank) || rank[dl[j]] >= nlayers) {
				print "check-layers: the table is wrong: " f " names " dl[j] \
				      ", which is not a folder above it"
				bad_table = 1
			}
			may[f, dl[j]] = 1
			deps[f] = deps[f] (j > 1 ? " " : "") dl[j]
		}
	}
	if (bad_table) exit 2
}

$1 == "have" { have[$2, substr($0, length($1 $2) + 3)] = 1
               if (!($2 in rank)) others[$2] = 1; next }
$1 == "scan" { nscan++; sfolder[nscan] = $2; sfile[nscan] = substr($0, length($1 $2) + 3) }

END {
	if (bad_table) exit 2
	for (s = 1; s <= nscan; s++) {
		folder = sfolder[s]; file = sfile[s]; nfiles++
		path = root "/" file
		lineno = 0; incomment = 0
		while ((r = (getline text < path)) > 0) {
			lineno++
			# Leave out comments, so a commented-out include is not read.
			out = ""
			while (text != "") {
				if (incomment) {
					k = index(text, "*/")
					if (!k) { text = ""; break }
					text = substr(text, k + 2); incomment = 0
				} else {
					k = index(text, "/*"); c = index(text, "//")
					if (c && (!k || c < k)) { out = out substr(text, 1, c - 1); text = "" }
					else if (k) { out = out substr(text, 1, k - 1) " "; text = substr(text, k + 2); incomment = 1 }
					else { out = out text; text = "" }
				}
			}
			if (out !~ /^[ \t]*#[ \t]*include[ \t]*"/) continue
			name = out; sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", name)
			if (!index(name, "\"")) continue
			name = substr(name, 1, index(name, "\"") - 1)
			nincludes++
			where = file ":" lineno
			if (resolve(name, file, folder, where) <= 0) continue
			to = found_folder
			if (to == folder) continue
			if (!((folder, to) in may))
				fail(where ": folder " folder " includes " found_path ", but " folder \
				     " may only depend on " allowed_list(folder))
			if (to in rank && !((folder, to) in edge)) {
				edge[folder, to] = where ": #include \"" name "\""
			}
		}
		if (r < 0) fail(file ": cannot read it")
		close(path)
	}

	# Cycles: the folders that reach one another (the graph has 7 nodes at
	# most: a transitive closure will do), one group at a time; for each,
	# a shortest cycle through its first folder, then its other edges.
	for (a = 1; a <= nlayers; a++) for (b = 1; b <= nlayers; b++)
		if ((order[a], order[b]) in edge) reach[a, b] = 1
	for (k = 1; k <= nlayers; k++) for (a = 1; a <= nlayers; a++)
		if ((a, k) in reach) for (b = 1; b <= nlayers; b++)
			if ((k, b) in reach) reach[a, b] = 1
	for (a = 1; a <= nlayers; a++) {
		if (done[a] || !((a, a) in reach)) continue
		members = ""; split("", ingroup)
		for (b = 1; b <= nlayers; b++)
			if (b == a || ((a, b) in reach && (b, a) in reach)) {
				ingroup[b] = 1; done[b] = 1
				members = members (members == "" ? "" : ", ") order[b]
			}
		# Breadth first from a back to a, inside the group.
		split("", prev); split("", seen)
		queue[1] = a; qh = 1; qt = 1; back = 0
		while (qh <= qt && !back) {
			u = queue[qh++]
			for (b = 1; b <= nlayers; b++) {
				if (!(b in ingroup) || !((order[u], order[b]) in edge)) continue
				if (b == a) { back = u; break }
				if (b in seen) continue
				seen[b] = 1; prev[b] = u; queue[++qt] = b
			}
		}
		np = 0; u = back
		while (u != a) { pathv[++np] = u; u = prev[u] }
		cyc = order[a]; split("", onpath)
		from = a
		for (i = np; i >= 1; i--) {
			cyc = cyc " -> " order[pathv[i]]
			onpath[from, pathv[i]] = 1; from = pathv[i]
		}
		onpath[from, a] = 1
		cyc = cyc " -> " order[a]
		fail("cycle between folders " members ": " cyc)
		from = a
		for (i = np; i >= 1; i--) {
			print "  " order[from] " -> " order[pathv[i]] ": " edge[order[from], order[pathv[i]]]
			from = pathv[i]
		}
		print "  " order[from] " -> " order[a] ": " edge[order[from], order[a]]
		for (u in ingroup) for (b in ingroup)
			if ((order[u], order[b]) in edge && !((u, b) in onpath))
				print "  also " order[u] " -> " order[b] ": " edge[order[u], order[b]]
	}

	if (problems) {
		printf "layers: %d problem%s (%s in %d files)\n", problems,
		       problems == 1 ? "" : "s", includes(nincludes), nfiles
		exit 1
	}
	printf "layers: ok (%s in %d files)\n", includes(nincludes), nfiles
	exit 0
}
'
