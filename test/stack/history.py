#!/usr/bin/python3
"""history.py - simulated trade history for the local stack's first start.

Writes HOURS of trades ending at --end-ms as CSV for COPY into
triggerstock.trades (exchange, instrument, symbol, trade_id, ts, price,
qty, side), with the market process of test/exchange/exchange_sim
--simulate (test/exchange/market.c): Poisson arrivals at RATE trades per
second, each a trade of a uniformly chosen instrument, a random walk in
whole ticks (0 half of the time, +-1 four in twenty, +-2 one in twenty),
exponential sizes in whole lots, the aggressor side following the move,
increasing trade ids per instrument, exchange binance and the instrument
names of the live source, so history and live trades share one key space.

The stack loads the file with COPY and refresh_candles() (the backfill
path); the live simulator then continues each instrument at the last price
and the next trade id.  Prints {"trades": N, "from_ms": F, "to_ms": T}.
(A replay through exchange_sim and the ingest worker was tried first: a
replay as fast as possible outruns the worker and the simulator drops the
connection, losing the frames in flight.)

Usage: history.py OUT.csv --hours H --rate R --end-ms MS [--seed S]
       [--symbols BTCUSDT=BTC,ETHUSDT=ETH]
"""
import argparse
import datetime
import json

import numpy as np

# Start price and mean size per base asset, as market.c guesses them.
MARKETS = {"BTC": (60000.0, 0.05), "XBT": (60000.0, 0.05), "ETH": (2600.0, 0.5),
           "SOL": (150.0, 5.0), "XRP": (1.0, 500.0)}
TICK = 0.01
LOT = 0.00001
FIRST_ID = 1000000000
ID_STRIDE = 100000000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hours", type=float, required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--end-ms", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--symbols", default="BTCUSDT=BTC,ETHUSDT=ETH")
    a = ap.parse_args()

    rng = np.random.default_rng(a.seed)
    pairs = [x.split("=") for x in a.symbols.split(",")]
    symbols = [p[0] for p in pairs]
    canon = [p[1] for p in pairs]
    span_ms = int(a.hours * 3600 * 1000)
    start_ms = a.end_ms - span_ms
    # Poisson arrivals: exponential gaps, as many as fit in the span
    n = int(a.rate * span_ms / 1000 * 1.1) + 16
    gaps = rng.exponential(1000.0 / a.rate, n)
    t = start_ms + np.cumsum(gaps)
    t = t[t < a.end_ms].astype(np.int64)
    n = len(t)
    sym = rng.integers(0, len(symbols), n)
    step = rng.choice(np.array([0, 1, -1, 2, -2]), n, p=[0.5, 0.2, 0.2, 0.05, 0.05])
    coin = rng.integers(0, 2, n)
    expo = rng.exponential(1.0, n)

    lines = []
    cols = {}
    for k, name in enumerate(symbols):
        base = next((b for b in MARKETS if b in name.upper()), None)
        price0, qty_mean = MARKETS.get(base, (100.0, 10.0))
        idx = np.nonzero(sym == k)[0]
        ticks = np.maximum(round(price0 / TICK) + np.cumsum(step[idx]), 1)
        lots = np.maximum(np.rint(expo[idx] * qty_mean / LOT), 1)
        maker_buyer = np.where(step[idx] > 0, False, np.where(step[idx] < 0, True, coin[idx] == 1))
        ids = FIRST_ID + ID_STRIDE * k + np.arange(len(idx))
        cols[k] = (idx, ticks, lots, maker_buyer, ids)

    # one pass in time order
    order_sym = np.empty(n, dtype=np.int64)
    order_pos = np.empty(n, dtype=np.int64)
    for k, (idx, *_rest) in cols.items():
        order_sym[idx] = k
        order_pos[idx] = np.arange(len(idx))
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    with open(a.out, "w") as f:
        for i in range(n):
            k = order_sym[i]
            j = order_pos[i]
            _, ticks, lots, maker_buyer, ids = cols[k]
            ts = (epoch + datetime.timedelta(milliseconds=int(t[i]))).isoformat(timespec="milliseconds")
            f.write("binance,%s,%s,%d,%s,%.2f,%.5f,%s\n"
                    % (symbols[k], canon[k], ids[j], ts, ticks[j] * TICK, lots[j] * LOT,
                       "sell" if maker_buyer[j] else "buy"))
    print(json.dumps({"trades": n, "from_ms": int(t[0]) if n else None,
                      "to_ms": int(t[-1]) if n else None}))


if __name__ == "__main__":
    main()
