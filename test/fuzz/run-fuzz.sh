#!/usr/bin/env bash
# Runs the per-decoder libFuzzer targets (built by `make fuzz` into
# test/fuzz/bin/fuzz_<decoder>) for FUZZ_SECONDS each, seeded from the real
# captures in $SHARED_DIR/data/websocket: the first 300 frames of every
# capture of that exchange (all captures for the generic decoder), each
# prefixed with the control byte 0xf0 (capacity 15, first generic map).
# The corpus grows in test/fuzz/corpus/<decoder> (not tracked); crashes are
# written to test/fuzz/crashes/ and fail the run.
# Usage: test/fuzz/run-fuzz.sh binance coinbase kraken finnhub generic
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
shared=${SHARED_DIR:-$(cd .. && pwd)/shared}
captures="$shared/data/websocket"
mkdir -p test/fuzz/crashes

seed() {  # seed DIR CAPTURE...: one corpus file per frame
  local dir=$1; shift
  local f
  for f in "$@"; do
    { gzip -dcf "$f" 2>/dev/null || true; } | head -n 300 | awk -v dir="$dir" -v base="$(basename "$f")" '
      { name = sprintf("%s/%s-%04d", dir, base, NR); printf "\360%s", $0 > name; close(name) }'
  done
}

for target in "$@"; do
  corpus=test/fuzz/corpus/$target
  mkdir -p "$corpus"
  if [ "$target" = generic ]; then
    seed "$corpus" "$captures"/binance/*trade*.jsonl "$captures"/kraken/spot_v1_trade*.jsonl
  else
    seed "$corpus" "$captures/$target"/*
  fi
  echo "== fuzz_$target for ${seconds}s ($(ls "$corpus" | wc -l) corpus files)"
  test/fuzz/bin/fuzz_"$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
    -artifact_prefix=test/fuzz/crashes/"$target"- -print_final_stats=1 "$corpus" 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' || true
  if ls test/fuzz/crashes/"$target"-* >/dev/null 2>&1; then
    echo "fuzz_$target found a crash: $(ls test/fuzz/crashes/"$target"-*)"; exit 1
  fi
done
