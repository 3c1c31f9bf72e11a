#!/usr/bin/python3
"""drain.py - a small WebSocket client that drains a feed and counts it.

Connects to URL (ws:// or wss://), sends the --subscribe messages, reads
frames until the server closes, the feed goes idle, or a time/frame limit
is reached, and prints one JSON line of counters:

  {"frames":N,"bytes":B,"trades":T,"connections":C,"close_codes":[...],
   "seconds":S,"frames_per_s":F,"trades_per_s":R,...}

With --reconnect it reconnects after every close (re-sending the subscribe
messages) until the server is gone, as an ingest worker would.  --dump
writes every frame as one line, for byte-exact comparisons with a capture.
Trades are counted with cheap per-exchange markers (no JSON parsing) so
counting does not limit the rate; --validate parses every frame as JSON.
--raw skips the websockets library (a minimal RFC 6455 reader over a plain
socket) to measure how fast the server can go; it only counts.

Used by selftest.sh and for throughput measurements; needs python3-websockets
(Debian's /usr/bin/python3).
"""
import argparse
import asyncio
import base64
import json
import os
import socket
import ssl
import sys
import time
import urllib.parse

import websockets

# Per exchange: (substring that marks a trade frame, substring counted per trade).
TRADE_MARKERS = {
    "binance": [('"e":"trade"', '"e":"trade"'), ('"e":"aggTrade"', '"e":"aggTrade"')],
    "coinbase": [('"type":"match"', '"type":"match"'),
                 ('"type":"last_match"', '"type":"last_match"')],
    "coinbase-advanced": [('"channel":"market_trades"', '"trade_id":"')],
    "kraken": [(',"trade","', '["')],
    "kraken-v2": [('"channel":"trade"', '"trade_id":')],
    "finnhub": [('"type":"trade"', '"s":"')],
}


def count_trades(markers, text):
    """Trades in one frame according to the exchange's markers."""
    n = 0
    for frame_marker, per_trade in markers:
        if frame_marker in text:
            n += text.count(per_trade)
    return n


class Drain:
    """State of one drain run across (re)connections."""

    def __init__(self, args):
        self.args = args
        self.frames = 0
        self.bytes = 0
        self.trades = 0
        self.invalid = 0
        self.connections = 0
        self.close_codes = []
        self.start = time.monotonic()
        self.first = None
        self.last = None
        self.stop = False
        self.markers = TRADE_MARKERS.get(args.exchange or "", [])
        self.dump = open(args.dump, "w", encoding="utf-8", newline="\n") if args.dump else None

    def summary(self):
        """Counters as a dict; rates over first..last frame."""
        span = (self.last - self.first) if self.first is not None else 0.0
        return {
            "frames": self.frames,
            "bytes": self.bytes,
            "trades": self.trades,
            "invalid_json": self.invalid,
            "connections": self.connections,
            "close_codes": self.close_codes,
            "seconds": round(time.monotonic() - self.start, 3),
            "stream_seconds": round(span, 3),
            "frames_per_s": round(self.frames / span) if span > 0 else None,
            "trades_per_s": round(self.trades / span) if span > 0 else None,
        }

    async def watchdog(self, ws):
        """Close the connection when idle, out of time, or told to stop."""
        a = self.args
        while not self.stop:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            ref = self.last if self.last is not None else self.start
            if (a.seconds and now - self.start >= a.seconds) or (a.idle and now - ref >= a.idle):
                self.stop = True
        await ws.close()

    async def session(self, ws):
        """Read one connection until it closes."""
        a = self.args
        for msg in a.subscribe:
            await ws.send(msg)
        dog = asyncio.ensure_future(self.watchdog(ws))
        markers, dump, validate = self.markers, self.dump, a.validate
        clock = time.monotonic
        try:
            async for m in ws:
                if self.stop:
                    continue  # the watchdog is closing; keep reading so it can
                self.last = now = clock()
                if self.first is None:
                    self.first = now
                if isinstance(m, bytes):
                    m = m.decode("utf-8", "replace")
                self.frames += 1
                self.bytes += len(m)
                if markers:
                    self.trades += count_trades(markers, m)
                if dump is not None:
                    dump.write(m)
                    dump.write("\n")
                if validate:
                    try:
                        json.loads(m)
                    except ValueError:
                        self.invalid += 1
                if a.max_frames and self.frames >= a.max_frames:
                    self.stop = True
        except websockets.ConnectionClosed:
            pass
        finally:
            if not dog.done():
                dog.cancel()
        if not ws.closed:
            await ws.close()
        self.close_codes.append(ws.close_code)

    async def run(self):
        """Connect (and reconnect) until the feed is done."""
        a = self.args
        ctx = None
        if a.url.startswith("wss://"):
            ctx = ssl.create_default_context(cafile=a.cafile)
        deadline = time.monotonic() + a.connect_timeout
        while not self.stop:
            try:
                ws = await websockets.connect(a.url, ssl=ctx, compression=None,
                                              max_size=None, max_queue=4096,
                                              ping_interval=None, open_timeout=10)
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as e:
                if self.connections > 0 or time.monotonic() > deadline:
                    if self.connections == 0:
                        print("drain.py: cannot connect: %s" % e, file=sys.stderr)
                    break
                await asyncio.sleep(0.05)
                continue
            self.connections += 1
            await self.session(ws)
            if not a.reconnect:
                break
        if self.dump is not None:
            self.dump.close()


def ws_frame(text):
    """A masked client text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        head = bytes([0x81, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def raw_connect(url, cafile):
    """Open a socket and do the WebSocket handshake; returns (sock, leftover)."""
    u = urllib.parse.urlsplit(url)
    port = u.port or (443 if u.scheme == "wss" else 80)
    sock = socket.create_connection((u.hostname, port), timeout=10)
    if u.scheme == "wss":
        sock = ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=u.hostname)
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % (path, u.hostname, port, key)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("connection closed during the handshake")
        resp += chunk
    head, _, rest = resp.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise OSError("handshake refused: %r" % head.split(b"\r\n")[0])
    return sock, bytearray(rest)


def raw_run(d):
    """Count frames with a minimal reader; fills the Drain counters."""
    a = d.args
    try:
        sock, buf = raw_connect(a.url, a.cafile)
    except OSError as e:
        print("drain.py: cannot connect: %s" % e, file=sys.stderr)
        return
    d.connections = 1
    for msg in a.subscribe:
        sock.sendall(ws_frame(msg))
    sock.settimeout(0.05)
    markers = [(f.encode(), t.encode()) for f, t in d.markers]
    clock = time.monotonic
    closed = False
    while not closed and not d.stop:
        now = clock()
        ref = d.last if d.last is not None else d.start
        if (a.seconds and now - d.start >= a.seconds) or (a.idle and now - ref >= a.idle):
            break
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        if not chunk:
            break
        buf += chunk
        pos, end = 0, len(buf)
        frames = 0
        while end - pos >= 2:
            n = buf[pos + 1] & 0x7F
            hl = 2
            if n == 126:
                if end - pos < 4:
                    break
                n, hl = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, hl = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if end - pos < hl + n:
                break
            op = buf[pos] & 0x0F
            s, e = pos + hl, pos + hl + n
            if op == 1 or op == 2:
                frames += 1
                d.bytes += n
                for fm, tm in markers:
                    if buf.find(fm, s, e) >= 0:
                        d.trades += buf.count(tm, s, e)
            elif op == 8:
                d.close_codes.append(int.from_bytes(buf[s:s + 2], "big") if n >= 2 else None)
                closed = True
                break
            elif op == 9:
                sock.sendall(bytes([0x8A, 0x80 | n]) + b"\0\0\0\0" + bytes(buf[s:e]))
            pos = e
        del buf[:pos]
        if frames:
            d.frames += frames
            d.last = clock()
            if d.first is None:
                d.first = d.last
            if a.max_frames and d.frames >= a.max_frames:
                break
    sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--subscribe", action="append", default=[],
                   help="message to send after connecting (repeatable)")
    p.add_argument("--seconds", type=float, default=0, help="stop after S seconds")
    p.add_argument("--idle", type=float, default=3.0,
                   help="stop after S seconds without a frame (0: never; default 3)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames")
    p.add_argument("--reconnect", action="store_true", help="reconnect after each close")
    p.add_argument("--connect-timeout", type=float, default=5.0,
                   help="keep trying the first connection this long (default 5 s)")
    p.add_argument("--cafile", help="CA certificate for wss://")
    p.add_argument("--dump", help="write every frame as one line to this file")
    p.add_argument("--exchange", help="count trades with this exchange's markers")
    p.add_argument("--validate", action="store_true", help="parse every frame as JSON")
    p.add_argument("--raw", action="store_true",
                   help="minimal reader without the websockets library (counts only; "
                        "no --dump, --validate or --reconnect)")
    args = p.parse_args()
    if args.raw and (args.dump or args.validate or args.reconnect):
        p.error("--raw only counts: drop --dump, --validate and --reconnect")
    d = Drain(args)
    try:
        if args.raw:
            raw_run(d)
        else:
            asyncio.run(d.run())
    except KeyboardInterrupt:
        pass
    print(json.dumps(d.summary()))
    return 0 if d.connections > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
