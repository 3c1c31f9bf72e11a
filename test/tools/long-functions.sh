#!/usr/bin/env bash
# long-functions.sh: C functions longer than a limit (default 120 lines),
# from the line of the function's name to its closing brace (ctags' end
# field).  Prints "lines file:line name", longest first, and whether the
# comment above the function gives a reason ("Long because" or "kept whole").
#
# Usage: test/tools/long-functions.sh [limit] [dir ...]   (default: 120 src bgworker)
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=${1:-120}
shift || true
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(src bgworker)

find "${dirs[@]}" -name '*.c' | sort | while IFS= read -r f; do
  ctags -o - --c-kinds=f --fields=+ne "$f" | awk -F'\t' -v f="$f" '
    { line = ""; end = "";
      for (i = 4; i <= NF; i++) {
        if ($i ~ /^line:/) line = substr($i, 6);
        if ($i ~ /^end:/) end = substr($i, 5);
      }
      if (line != "" && end != "") print end - line + 1, f ":" line, $1 }'
done | sort -rn | awk -v limit="$limit" '$1 > limit' | while read -r n loc name; do
  f=${loc%%:*}; l=${loc##*:}
  # the comment block just above the function (return type line included)
  reason=$(awk -v l="$l" 'NR >= l - 25 && NR < l' "$f" | grep -ci 'long because\|kept whole' || true)
  printf '%5d  %-45s %s%s\n' "$n" "$loc" "$name" "$([ "$reason" -gt 0 ] && echo '  (reason written above)')"
done
