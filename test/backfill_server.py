#!/usr/bin/env python3
"""Local REST exchange for the backfill tests (127.0.0.1 only).

Usage: backfill_server.py SHARED_DATA_DIR STATE_DIR
Writes the port it listens on to STATE_DIR/port and answers like the
exchanges' history endpoints, from the real dumps and captures of
../shared/data (values unchanged, reshaped where an endpoint's layout differs):

  Binance  {/api/v3,/fapi/v1,/dapi/v1}/aggTrades  symbol, startTime+endTime
           (at most 1 h) or fromId, limit (<= 1000); XRPETH: the ccxt dump's
           raw aggTrades; BTCUSDT: the WebSocket trade capture (spot on
           /api/v3, USD-M on /fapi/v1), each trade its own aggregate
           /historicalTrades  symbol, fromId, limit: the same trades
           /klines  symbol XBTUSDT, interval 1m, startTime, endTime, limit: the
           Kraken OHLC dump's candles (quote volume = vwap * volume, count)
  Coinbase /products/BTC-USD/trades  limit (<= 1000), after: the REST dump,
           newest first, ids below after
           /products/ETH-USD/candles  granularity 60, start, end (ISO): the
           Lean ETH-USD minute files, [time, low, high, open, close, volume]
           newest first, at most 300
  Kraken   /0/public/Trades  pair XBTUSDT, since (s or ns, inclusive), count
           /0/public/OHLC  pair XBTUSDT, interval 1, since (s, exclusive)

Faults: STATE_DIR/faults.json, re-read on every request, maps the number of a
request (counted from when the file last changed, from 1) to a fault:
"429" (Retry-After from "retry_after", default 1), "418", "429-no-header",
"500", "truncate" (half the body, close-delimited), "repeat" (the previous
answer again), "slow" (answers after 1 s), "redirect" (302 to the same path
on 127.0.0.1), "redirect-out" (302 to the same path on localhost, a host
the tests do not allow).
BENCH (Binance aggTrades): synthetic trades, a trade every 5 ms from
1600000000000 ms (id 1), for the benchmark (pages of 1,000 up to
$TRIGGERSTOCK_BENCH_ROWS are serialised at start).
Hostile symbols (Binance aggTrades): ENDLESS (fresh ids, the time never
advances), HUGE (a 20 MB body), BACKWARDS (times go backwards), LONGPAGE
(more rows than the limit asked).
Every request is appended to STATE_DIR/requests.log as
"<unix time> <status> <path>".  The test stops the server by its pid.
"""
import bisect
import csv
import datetime
import glob
import http.server
import json
import os
import sys
import time
import urllib.parse

DATA, STATE = sys.argv[1], sys.argv[2]


def load():
    d = {}
    agg = json.load(open(DATA + "/trades/binance_xrpeth_aggtrades_ccxt_2019-10-11.json"))
    d["agg", "XRPETH"] = [t["info"] for t in agg]
    for prefix, name in (("/api/v3", "spot_btcusdt_trade_2024-08-08T2354Z_0005Z.jsonl"),
                         ("/fapi/v1", "usdm_btcusdt_trade_2024-08-08T2354Z_2400Z.jsonl")):
        rows = []
        for line in open(DATA + "/websocket/binance/" + name):
            x = json.loads(line)["data"]
            rows.append(x)
        d["trade", prefix] = rows
    ohlc = json.load(open(DATA + "/candles/crypto/kraken_xbtusdt_rest_ohlc_1m_2025-11-10.json"))
    d["ohlc"] = ohlc["result"]["XBTUSDT"]
    d["cb"] = sorted((json.loads(l) for l in open(DATA + "/trades/coinbase_btcusd_rest_trades_2016-05-12.jsonl")),
                     key=lambda t: t["trade_id"])
    kt = json.load(open(DATA + "/trades/kraken_xbtusdt_rest_trades_2025-11-10.json"))
    d["kt"] = kt["result"]["XBTUSDT"]
    lean = []
    for f in sorted(glob.glob(DATA + "/candles/crypto/coinbase_ethusd_1m_lean/*.csv")):
        day = datetime.datetime.strptime(os.path.basename(f)[:8], "%Y%m%d").replace(tzinfo=datetime.timezone.utc)
        base = int(day.timestamp())
        for r in csv.reader(open(f)):
            lean.append([base + int(r[0]) // 1000, r[3], r[2], r[1], r[4], r[5]])
    d["lean"] = lean
    return d


D = load()
BENCH_T0 = 1600000000000


def bench_page(start, limit):
    return [{"a": i, "p": "%.2f" % (100 + (i * 7919 % 1000) / 100), "q": "%.3f" % (0.001 * (1 + i % 7)),
             "f": i, "l": i, "T": BENCH_T0 + 5 * i, "m": i % 3 == 0, "M": True}
            for i in range(start, start + limit)]


# TRIGGERSTOCK_BENCH_ROWS: the benchmark's pages are serialised before the
# server says it is ready, so answering one costs a dictionary lookup
BENCH_PAGES = {}
for _k in range(0, int(os.environ.get("TRIGGERSTOCK_BENCH_ROWS", "0")) + 1000, 1000):
    BENCH_PAGES[_k + 1, 1000] = json.dumps(bench_page(_k + 1, 1000)).encode()
COUNTER = {"n": 0, "mtime": None, "last": None}


def faults():
    path = os.path.join(STATE, "faults.json")
    try:
        mtime = os.stat(path).st_mtime_ns
        plan = json.load(open(path))
    except (OSError, ValueError):
        mtime, plan = None, {}
    if mtime != COUNTER["mtime"]:
        COUNTER["mtime"], COUNTER["n"] = mtime, 0
    COUNTER["n"] += 1
    return plan.get(str(COUNTER["n"])), plan


def agg_row(t):
    """A WebSocket trade as a Binance aggTrade of its own."""
    return {"a": t["t"], "p": t["p"], "q": t["q"], "f": t["t"], "l": t["t"], "T": t["T"], "m": t["m"],
            "M": True}


def hist_row(t):
    return {"id": t["t"], "price": t["p"], "qty": t["q"],
            "quoteQty": "%.8f" % (float(t["p"]) * float(t["q"])), "time": t["T"],
            "isBuyerMaker": t["m"], "isBestMatch": True}


def binance(prefix, endpoint, q):
    sym = q.get("symbol", "")
    limit = int(q.get("limit", "500"))
    if limit > 1000 and endpoint != "klines":
        return 400, {"code": -1100, "msg": "Illegal characters found in parameter 'limit'."}
    if endpoint == "klines":
        if sym != "XBTUSDT" or q.get("interval") != "1m":
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        lo, hi = int(q["startTime"]), int(q["endTime"])
        out = [[r[0] * 1000, r[1], r[2], r[3], r[4], r[6], r[0] * 1000 + 59999,
                repr(float(r[5]) * float(r[6])), r[7], "0", "0", "0"]
               for r in D["ohlc"] if lo <= r[0] * 1000 <= hi]
        return 200, out[:min(limit, 1500)]
    if sym in ("ENDLESS", "BACKWARDS", "LONGPAGE"):
        start = int(q.get("fromId", 1))
        n = limit + 5 if sym == "LONGPAGE" else limit
        return 200, [{"a": start + i, "p": "1.5", "q": "1", "f": start + i, "l": start + i,
                      "T": 1570752011620 + (0 if sym == "ENDLESS" else (-i if sym == "BACKWARDS" else i)),
                      "m": True, "M": True} for i in range(n)]
    if sym == "HUGE":
        return 200, "HUGE"
    if sym == "BENCH":          # synthetic, as fast as it can: a trade every 5 ms from id 1
        if "fromId" in q:
            start = max(1, int(q["fromId"]))
        else:
            start = max(1, -(-(int(q["startTime"]) - BENCH_T0) // 5))
            if BENCH_T0 + 5 * start > int(q["endTime"]):
                return 200, []
        if (start, limit) in BENCH_PAGES:
            return 200, BENCH_PAGES[start, limit]
        return 200, bench_page(start, limit)
    if sym == "XRPETH" and prefix == "/api/v3" and endpoint == "aggTrades":
        rows = D["agg", "XRPETH"]
        key = lambda r: r["a"]
        tkey = lambda r: r["T"]
        conv = lambda r: r
    elif sym == "BTCUSDT" and ("trade", prefix) in D:
        rows = D["trade", prefix]
        key = lambda r: r["t"]
        tkey = lambda r: r["T"]
        conv = agg_row if endpoint == "aggTrades" else hist_row
    else:
        return 400, {"code": -1121, "msg": "Invalid symbol."}
    if "fromId" in q:
        ids = [key(r) for r in rows]
        i = bisect.bisect_left(ids, int(q["fromId"]))
        sel = rows[i:i + limit]
    elif endpoint == "aggTrades" and "startTime" in q:
        lo, hi = int(q["startTime"]), int(q["endTime"])
        if hi - lo > 3600000:
            return 400, {"code": -1127, "msg": "More than 1 hours between startTime and endTime."}
        sel = [r for r in rows if lo <= tkey(r) <= hi][:limit]
    else:
        sel = rows[-limit:]
    return 200, [conv(r) for r in sel]


def coinbase(product, endpoint, q):
    if product == "BTC-USD" and endpoint == "trades":
        limit = min(int(q.get("limit", "100")), 1000)
        rows = D["cb"]
        if "after" in q:
            rows = [r for r in rows if r["trade_id"] < int(q["after"])]
        return 200, list(reversed(rows))[:limit]
    if product == "ETH-USD" and endpoint == "candles":
        if q.get("granularity") != "60":
            return 400, {"message": "Unsupported granularity"}
        lo = datetime.datetime.fromisoformat(q["start"].replace("Z", "+00:00")).timestamp()
        hi = datetime.datetime.fromisoformat(q["end"].replace("Z", "+00:00")).timestamp()
        if (hi - lo) / 60 + 1 > 300:
            return 400, {"message": "granularity too small for the requested time range"}
        out = [[r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])]
               for r in D["lean"] if lo <= r[0] <= hi]
        return 200, list(reversed(out))
    return 404, {"message": "NotFound"}


def kraken(endpoint, q):
    if q.get("pair") != "XBTUSDT":
        return 200, {"error": ["EQuery:Unknown asset pair"]}
    since = int(q.get("since", "0"))
    if endpoint == "Trades":
        ns = since * 1000000000 if since < 10 ** 11 else since
        count = int(q.get("count", "1000"))
        rows = [r for r in D["kt"] if round(r[2] * 1e6) * 1000 >= ns][:count]
        last = str(round(rows[-1][2] * 1e6) * 1000) if rows else str(ns)
        return 200, {"error": [], "result": {"XBTUSDT": rows, "last": last}}
    if endpoint == "OHLC":
        rows = [r for r in D["ohlc"] if r[0] > since][:720]
        return 200, {"error": [], "result": {"XBTUSDT": rows, "last": rows[-1][0] if rows else since}}
    return 404, {"error": ["EGeneral:Unknown method"]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        with open(os.path.join(STATE, "requests.log"), "a") as log:
            log.write("%.3f %d %s\n" % (time.time(), status, self.path))

    def answer(self, status, body, headers=(), truncate=False):
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        if not truncate:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if truncate else body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.split("/")
        fault, plan = faults()
        if fault in ("429", "418"):
            return self.answer(int(fault), b'{"code":-1003,"msg":"Too many requests."}',
                               [("Retry-After", str(plan.get("retry_after", 1)))])
        if fault == "429-no-header":
            return self.answer(429, b'{"code":-1003,"msg":"Too many requests."}')
        if fault == "500":
            return self.answer(500, b'{"code":-1000,"msg":"An unknown error occurred."}')
        if fault in ("redirect", "redirect-out"):
            host = "127.0.0.1" if fault == "redirect" else "localhost"
            return self.answer(302, b"", [("Location", "http://%s:%d%s" % (host, self.server.server_address[1],
                                                                            self.path))])
        if fault == "slow":
            time.sleep(1)
        if fault == "repeat" and COUNTER["last"] is not None:
            return self.answer(200, COUNTER["last"])
        try:
            if len(parts) >= 4 and "/" + parts[1] + "/" + parts[2] in ("/api/v3", "/fapi/v1", "/dapi/v1"):
                status, body = binance("/" + parts[1] + "/" + parts[2], parts[3], q)
            elif len(parts) == 4 and parts[1] == "products":
                status, body = coinbase(parts[2], parts[3], q)
            elif len(parts) == 4 and parts[1:3] == ["0", "public"]:
                status, body = kraken(parts[3], q)
            else:
                status, body = 404, {"message": "NotFound"}
        except (KeyError, ValueError) as e:
            status, body = 400, {"code": -1102, "msg": "bad parameter: %s" % e}
        if isinstance(body, bytes):
            raw = body
        elif body == "HUGE":
            raw = b"[" + b",".join([b'{"a":1,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}'] * 400000) + b"]"
        else:
            raw = json.dumps(body).encode()
        weight = [("X-MBX-USED-WEIGHT-1M", "4")] if parts[1:2] in (["api"], ["fapi"]) else []
        COUNTER["last"] = raw
        self.answer(status, raw, weight, truncate=(fault == "truncate"))


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
server.serve_forever()
