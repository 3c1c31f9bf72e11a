#!/usr/bin/python3
"""Client side of the online feature benchmarks (test/bench/online.sh).

  online_client.py cold N SYMBOL...
      N rounds; each round, for each symbol: write its next candle (closing
      the previous one) on a writer connection, then open a fresh
      connection and time its first SELECT predict(symbol) (the call only,
      not the connection set-up).  Prints per symbol: median, p99, max ms;
      FLOOR: the same for a fresh connection's first SELECT 1, CFLOOR: for
      its first call of a trivial C function of the extension
      (model_cache_count()).

  online_client.py predictor ROUNDS PREFIX
      For the symbols named PREFIX%: each round writes the next candle of
      every symbol in one statement, then polls triggerstock.predictions
      every 50 ms until each symbol's just-closed bucket is scored.  The
      delay of a symbol is the time from the start of the candle write to
      the first poll that sees its prediction row committed.  Prints
      samples, median, p99, max seconds and how many exceeded 10 s.

Connections use the PG* environment (pg_virtualenv).
"""
import sys
import time

import psycopg2


def pct(values, q):
    values = sorted(values)
    i = max(0, min(len(values) - 1, int(round(q * len(values) + 0.5)) - 1))
    return values[i]


def cold(rounds, symbols):
    w = psycopg2.connect("")
    w.autocommit = True
    wc = w.cursor()
    times = {s: [] for s in symbols}
    floor = []
    cfloor = []
    levels = {}
    for _ in range(rounds):
        for s in symbols:
            wc.execute("SELECT bench_next_candle(%s, 1)", (s,))
            c = psycopg2.connect("")
            cur = c.cursor()
            t0 = time.perf_counter()
            cur.execute("SELECT predict(%s)", (s,))
            cur.fetchone()
            times[s].append((time.perf_counter() - t0) * 1000.0)
            if s not in levels:
                cur.execute("SELECT predict_explain(%s) ->> 'fallback_level', "
                            "predict_explain(%s) ->> 'bucket'", (s, s))
                levels[s] = cur.fetchone()
            c.close()
        # the floors: a fresh connection's first statement, SELECT 1, and
        # its first call of a trivial C function of the extension
        for sql, out in (("SELECT 1", floor), ("SELECT model_cache_count()", cfloor)):
            c = psycopg2.connect("")
            cur = c.cursor()
            t0 = time.perf_counter()
            cur.execute(sql)
            cur.fetchone()
            out.append((time.perf_counter() - t0) * 1000.0)
            c.close()
    for s in symbols:
        t = times[s]
        print("%s %.3f %.3f %.3f %s" % (s, pct(t, 0.5), pct(t, 0.99), max(t), levels[s][0]))
    print("FLOOR %.3f %.3f %.3f -" % (pct(floor, 0.5), pct(floor, 0.99), max(floor)))
    print("CFLOOR %.3f %.3f %.3f -" % (pct(cfloor, 0.5), pct(cfloor, 0.99), max(cfloor)))


def predictor(rounds, prefix):
    w = psycopg2.connect("")
    w.autocommit = True
    c = w.cursor()
    c.execute("SELECT count(*) FROM triggerstock.feature_state WHERE symbol LIKE %s", (prefix + '%',))
    n = c.fetchone()[0]
    delays = []
    for _ in range(rounds):
        # the bucket each symbol's new candle closes: its current last candle
        c.execute("SELECT max(bucket) FROM triggerstock.candles WHERE symbol = %s", (prefix + '0001',))
        closing = c.fetchone()[0]
        t0 = time.time()
        c.execute("SELECT bench_next_candles(%s)", (prefix,))
        seen = {}
        while len(seen) < n and time.time() - t0 < 120:
            c.execute("SELECT symbol FROM triggerstock.predictions WHERE bucket = %s AND symbol LIKE %s",
                      (closing, prefix + '%'))
            now = time.time()
            for (s,) in c.fetchall():
                seen.setdefault(s, now - t0)
            time.sleep(0.05)
        delays.extend(seen.values())
        delays.extend([float('inf')] * (n - len(seen)))
    late = sum(1 for d in delays if d > 10.0)
    print("%d %.3f %.3f %.3f %d" % (len(delays), pct(delays, 0.5), pct(delays, 0.99), max(delays), late))


if __name__ == "__main__":
    if sys.argv[1] == "cold":
        cold(int(sys.argv[2]), sys.argv[3:])
    elif sys.argv[1] == "predictor":
        predictor(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: online_client.py cold N SYMBOL... | predictor ROUNDS PREFIX")
