#!/usr/bin/env bash
# file-cycles.sh: file-level call cycles of the extension's C code.
#
# For every object file of the library (src/**/*.o, bgworker/*.o; run `make`
# first), nm lists the functions it defines (T) and the symbols it needs (U).
# File A calls file B when A needs a function B defines.  The script prints
#   - every pair of files that call each other (A <-> B), with the functions
#     called each way;
#   - every larger circle: the strongly connected components of the file
#     graph with more than one file;
# and exits 1 if there is any cycle (0 otherwise).  Only calls of non-static
# functions are seen (static ones never leave their file); data symbols such
# as GUC variables are not calls and are not counted.
#
# Usage: test/tools/file-cycles.sh [--quiet] [dir ...]   (default: src bgworker)
#        --allow A:B  ignore the pair A <-> B (may be repeated)
set -euo pipefail
cd "$(dirname "$0")/../.."

quiet=0
allow=()
dirs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quiet) quiet=1 ;;
    --allow) allow+=("$2"); shift ;;
    *) dirs+=("$1") ;;
  esac
  shift
done
[ ${#dirs[@]} -gt 0 ] || dirs=(src bgworker)

objs=()
while IFS= read -r c; do
  o="${c%.c}.o"
  if [ ! -f "$o" ] || [ "$o" -ot "$c" ]; then
    echo "file-cycles: $o is missing or older than $c: run make first" >&2
    exit 2
  fi
  objs+=("$o")
done < <(find "${dirs[@]}" -name '*.c' | sort)

for o in "${objs[@]}"; do
  nm "$o" | awk -v f="${o%.o}.c" '$1 == "U" { print f, "U", $2 } $2 == "T" { print f, "T", $3 }'
done | QUIET=$quiet ALLOW="${allow[*]:-}" python3 -c '
import os, sys
from collections import defaultdict

defines, needs = {}, defaultdict(set)
for line in sys.stdin:
    f, kind, sym = line.split()
    if kind == "T":
        defines[sym] = f
    else:
        needs[f].add(sym)
calls = defaultdict(lambda: defaultdict(set))    # calls[a][b] = functions of b that a calls
for a, syms in needs.items():
    for s in syms:
        b = defines.get(s)
        if b is not None and b != a:
            calls[a][b].add(s)
allowed = {frozenset(p.split(":")) for p in os.environ["ALLOW"].split() if p}
for p in allowed:
    a, b = sorted(p)
    calls[a].pop(b, None); calls[b].pop(a, None)

files = sorted(set(defines.values()) | set(needs))
pairs = [(a, b) for a in files for b in sorted(calls[a]) if a < b and a in calls[b]]
print("file-level call cycles (%d files, %d calling edges)"
      % (len(files), sum(len(v) for v in calls.values())))
print("mutual pairs: %d" % len(pairs))
for a, b in pairs:
    print("  %s <-> %s" % (a, b))
    if os.environ["QUIET"] != "1":
        print("      %s -> %s" % (a, ", ".join(sorted(calls[a][b]))))
        print("      %s -> %s" % (b, ", ".join(sorted(calls[b][a]))))

# Tarjan: strongly connected components with more than one file
index, low, stack, on, sccs = {}, {}, [], set(), []
def visit(v):
    index[v] = low[v] = len(index); stack.append(v); on.add(v)
    for w in calls[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in files:
    if v not in index: visit(v)
print("circles (strongly connected groups of files): %d" % len(sccs))
for c in sorted(sccs):
    print("  " + " , ".join(c))
sys.exit(1 if pairs or sccs else 0)
'
