# Sourced by the ingest and backfill benchmark drivers: their baseline.
# copy_baseline FILE ROWS: COPY FILE (the run's own rows, COPY TO'd) into
# the emptied triggerstock.trades; sets copy_ms (wall), copy_cpu (CPU
# seconds of the backend that ran it) and baseline (rows/s, wall).
copy_baseline() {
  local out hz
  hz=$(getconf CLK_TCK)
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
SELECT pg_backend_pid() AS bpid \\gset
\\setenv BPID :bpid
\\! awk '{ print "cpu0", \$14 + \$15 }' /proc/\$BPID/stat
\\timing on
COPY triggerstock.trades FROM '$1';
\\timing off
\\! awk '{ print "cpu1", \$14 + \$15 }' /proc/\$BPID/stat
SQL
)
  copy_ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
  copy_cpu=$(echo "$out" | awk -v hz="$hz" '$1 == "cpu0" { a = $2 } $1 == "cpu1" { b = $2 } END { printf "%.2f", (b - a) / hz }')
  baseline=$(awk -v r="$2" -v ms="$copy_ms" 'BEGIN { printf "%d", r / (ms / 1000) }')
}
