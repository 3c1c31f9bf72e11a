#!/usr/bin/env bash
# Runs the per-decoder libFuzzer targets (built by `make fuzz` into
# test/fuzz/bin/fuzz_<decoder>) for FUZZ_SECONDS each, seeded from the real
# captures in $SHARED_DIR/data/websocket: the first 300 frames of every
# capture of that exchange (all captures for the generic decoder), each
# prefixed with the control byte 0xf0 (capacity 15, first generic map).
# The corpus grows in test/fuzz/corpus/<decoder> (not tracked); crashes are
# written to test/fuzz/crashes/ and fail the run.
# Usage: test/fuzz/run-fuzz.sh binance coinbase kraken finnhub generic book_kraken ... book
# (book_<source>: the depth decoders + sync rules, seeded from the depth
# captures; book: the book structure, no seeds)
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

# seed_book DIR PATTERN CAPTURE...: depth frames one per file (control byte
# 0xf4: 60 changes, 10 levels a side) plus runs of 40 consecutive frames in
# one file (0xfc: 1000 levels), so the sync rules see snapshots then updates.
seed_book() {
  local dir=$1 pattern=$2; shift 2
  local f
  for f in "$@"; do
    { gzip -dcf "$f" 2>/dev/null | grep -E "$pattern" || true; } | head -n 400 | awk -v dir="$dir" -v base="$(basename "$f")" '
      { name = sprintf("%s/%s-%04d", dir, base, NR); printf "\364%s", $0 > name; close(name)
        run = sprintf("%s/%s-run%02d", dir, base, int((NR - 1) / 40));
        if ((NR - 1) % 40 == 0) printf "\374" > run; else printf "\n" >> run;
        printf "%s", $0 >> run; close(run) }'
  done
}

seed_rest() {  # REST answers built from the dumps, one per endpoint and cursor
  python3 - "$1" "$shared/data" <<'PY'
import json, os, sys
out, data = sys.argv[1], sys.argv[2]
agg = [t["info"] for t in json.load(open(data + "/trades/binance_xrpeth_aggtrades_ccxt_2019-10-11.json"))[:40]]
cb = [json.loads(l) for l in open(data + "/trades/coinbase_btcusd_rest_trades_2016-05-12.jsonl")][:40][::-1]
kt = json.load(open(data + "/trades/kraken_xbtusdt_rest_trades_2025-11-10.json"))
kt["result"]["XBTUSDT"] = kt["result"]["XBTUSDT"][:40]
ko = json.load(open(data + "/candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json"))
ko["result"]["XBTUSDT"] = ko["result"]["XBTUSDT"][:40]
kl = [[1640991660000, "46319.0", "46385.0", "46319.0", "46377.0", "2300413.7295", 1640991719999,
       "1", 3, "0", "0", "0"]]
cc = [[1475798460, 611.87, 611.88, 611.87, 611.88, 0.56799]]
gen = {"data": [{"p": "1.5", "q": 2, "t": 1600000000000, "i": 1001, "s": "buy"}], "next": "abc"}
bodies = [json.dumps(agg), json.dumps(agg), json.dumps(kl), json.dumps(cb), json.dumps(cc),
          json.dumps(kt), json.dumps(ko), json.dumps(gen)]
for ep, body in enumerate(bodies):
    for variant in range(4):
        with open(os.path.join(out, "seed-%d-%d" % (ep, variant)), "wb") as f:
            f.write(bytes([ep | variant << 3 | 6 << 5]) + body.encode())
PY
}

for target in "$@"; do
  corpus=test/fuzz/corpus/$target
  mkdir -p "$corpus"
  case "$target" in
    generic) seed "$corpus" "$captures"/binance/*trade*.jsonl "$captures"/kraken/spot_v1_trade*.jsonl ;;
    book_binance) seed_book "$corpus" 'depthUpdate' "$captures"/binance/*depth* "$captures"/binance/cryptofeed_*;;
    book_binance_rest) printf '\364{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}' \
        > "$corpus/rest-seed";;
    book_coinbase) seed_book "$corpus" 'snapshot|l2update|l2_data' "$captures"/coinbase/exchange_wsfeed_level2* \
        "$captures"/coinbase/advanced_trade_all*;;
    book_kraken) seed_book "$corpus" 'book-' "$captures"/kraken/spot_v1_book*;;
    book) ;;
    rest) seed_rest "$corpus" ;;
    *) seed "$corpus" "$captures/$target"/* ;;
  esac
  echo "== fuzz_$target for ${seconds}s ($(ls "$corpus" | wc -l) corpus files)"
  test/fuzz/bin/fuzz_"$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
    -artifact_prefix=test/fuzz/crashes/"$target"- -print_final_stats=1 "$corpus" 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' || true
  if ls test/fuzz/crashes/"$target"-* >/dev/null 2>&1; then
    echo "fuzz_$target found a crash: $(ls test/fuzz/crashes/"$target"-*)"; exit 1
  fi
done
