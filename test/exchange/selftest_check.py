#!/usr/bin/python3
"""selftest_check.py - verdicts for selftest.sh over drain.py dumps.

  replay CAPTURE DUMP SYNTHETIC [--match SUBSTRING]
      The frames of DUMP that occur in CAPTURE must be exactly the capture's
      lines (those containing SUBSTRING, if given), in file order; the other
      frames (acks and greetings made by the server) must number SYNTHETIC.
  resume CAPTURE DUMP OVERLAP DROPS
      After DROPS drops with OVERLAP: every capture line arrives, first
      arrivals are in file order, and exactly OVERLAP * DROPS are repeats.
  simulate EXCHANGE DUMP COUNT
      DUMP is valid JSON in the exchange's trade format with COUNT trades;
      per instrument, trade ids increase, the aggressor side follows the
      price move (up-tick: taker bought, down-tick: taker sold), and the
      timestamps are the wall clock (within a minute).
  stats STATS KEY=VALUE...
      The stats file's counters equal the given values.

Prints one line of explanation on failure and exits 1.
"""
import datetime
import gzip
import json
import sys
import time


def lines(path):
    """Non-empty lines of a (possibly gzip-compressed) file, without EOLs."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return [l.rstrip("\r\n") for l in f if l.rstrip("\r\n")]


def fail(msg):
    """Report and exit 1."""
    print(msg)
    sys.exit(1)


def check_replay(capture, dump, synthetic, match=None):
    """Replayed frames equal the matching capture lines, in order."""
    cap = lines(capture)
    known = set(cap)
    expected = [l for l in cap if match is None or match in l]
    got = lines(dump)
    real = [l for l in got if l in known]
    synth = [l for l in got if l not in known]
    if real != expected:
        for i, (a, b) in enumerate(zip(real, expected)):
            if a != b:
                fail("frame %d differs: got %.80s expected %.80s" % (i, a, b))
        fail("got %d capture frames, expected %d" % (len(real), len(expected)))
    if len(synth) != synthetic:
        fail("got %d server-made frames, expected %d: %s" % (len(synth), synthetic, synth[:3]))


def check_resume(capture, dump, overlap, drops):
    """Reconnects lose nothing and repeat exactly overlap frames per drop."""
    cap = lines(capture)
    got = lines(dump)
    seen = set()
    first = []
    for l in got:
        if l not in seen:
            seen.add(l)
            first.append(l)
    if first != cap:
        fail("unique frames %d (expected %d) or order differs" % (len(first), len(cap)))
    if len(got) - len(cap) != overlap * drops:
        fail("%d repeated frames, expected %d" % (len(got) - len(cap), overlap * drops))


def iso_ns(s):
    """RFC 3339 UTC string to epoch seconds (float)."""
    s = s.rstrip("Z")
    base, _, frac = s.partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + (float("0." + frac) if frac else 0.0)


def trades_of(exchange, msg):
    """(instrument, id, price, taker_buy or None, epoch seconds) per trade."""
    out = []
    if exchange == "binance" and isinstance(msg, dict) and "data" in msg:
        d = msg["data"]
        if d.get("e") == "trade":
            out.append((d["s"], d["t"], float(d["p"]), not d["m"], d["T"] / 1000))
    elif exchange == "coinbase" and msg.get("type") == "match":
        out.append((msg["product_id"], msg["trade_id"], float(msg["price"]),
                    msg["side"] == "sell", iso_ns(msg["time"])))
    elif exchange == "coinbase-advanced" and msg.get("channel") == "market_trades":
        for ev in msg["events"]:
            for t in reversed(ev["trades"]):  # newest first on the wire
                out.append((t["product_id"], int(t["trade_id"]), float(t["price"]),
                            t["side"] == "SELL", iso_ns(t["time"])))
    elif exchange == "kraken" and isinstance(msg, list) and msg[-2] == "trade":
        for i, t in enumerate(msg[1]):
            out.append((msg[-1], None, float(t[0]), t[3] == "b", float(t[2])))
    elif exchange == "kraken-v2" and msg.get("channel") == "trade":
        for t in msg["data"]:
            out.append((t["symbol"], t["trade_id"], float(t["price"]),
                        t["side"] == "buy", iso_ns(t["timestamp"])))
    elif exchange == "finnhub" and msg.get("type") == "trade":
        for t in msg["data"]:
            out.append((t["s"], None, float(t["p"]), None, t["t"] / 1000))
    return out


def check_simulate(exchange, dump, count):
    """Simulated trades: count, ids, side convention, wall-clock times."""
    now = time.time()
    last = {}
    n = 0
    for l in lines(dump):
        try:
            msg = json.loads(l)
        except ValueError:
            fail("not JSON: %.80s" % l)
        for sym, tid, price, taker_buy, ts in trades_of(exchange, msg):
            n += 1
            if abs(ts - now) > 60:
                fail("%s trade time %.3f is not the wall clock %.3f" % (sym, ts, now))
            if sym in last:
                ptid, pprice = last[sym]
                if tid is not None and tid <= ptid:
                    fail("%s trade id %s after %s" % (sym, tid, ptid))
                if taker_buy is not None and price > pprice and not taker_buy:
                    fail("%s up-tick %s -> %s printed as a taker sell" % (sym, pprice, price))
                if taker_buy is not None and price < pprice and taker_buy:
                    fail("%s down-tick %s -> %s printed as a taker buy" % (sym, pprice, price))
            last[sym] = (tid, price)
    if n != count:
        fail("%d trades, expected %d" % (n, count))


def check_stats(path, pairs):
    """Stats counters equal the expected values."""
    with open(path) as f:
        st = json.load(f)
    for p in pairs:
        k, _, v = p.partition("=")
        if str(st.get(k)).lower() != v.lower():
            fail("stats %s = %s, expected %s" % (k, st.get(k), v))


def main(argv):
    """Dispatch on the verdict name."""
    if len(argv) >= 4 and argv[0] == "replay":
        match = argv[5] if len(argv) >= 6 and argv[4] == "--match" else None
        check_replay(argv[1], argv[2], int(argv[3]), match)
    elif len(argv) == 5 and argv[0] == "resume":
        check_resume(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 4 and argv[0] == "simulate":
        check_simulate(argv[1], argv[2], int(argv[3]))
    elif len(argv) >= 2 and argv[0] == "stats":
        check_stats(argv[1], argv[2:])
    else:
        fail(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
