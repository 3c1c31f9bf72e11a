#!/usr/bin/python3
"""news_feed.py - the local stack's news feed: an RSS 2.0 server on 127.0.0.1.

Generates headlines about Bitcoin and Ethereum locally (no file, no
network): one item every --every seconds of wall-clock time, each item a
pure function of its slot number (slot = epoch seconds // every), so a
restarted server serves the same items under the same guids and the
stack's poll worker stores each once.  The feed lists the items of the
last --backlog-hours hours, newest first, so the first poll also covers the
simulated history.  Headlines are positive, negative or neutral in words
the built-in sentiment lexicon knows.

  GET /feed.rss   the feed, with ETag; If-None-Match -> 304
  anything else   404

Usage: news_feed.py --port-file F [--every 240] [--backlog-hours 25]
The stack stops it by its pid.
"""
import argparse
import email.utils
import hashlib
import http.server
import os
import random
import time
from xml.sax.saxutils import escape

ASSETS = [("Bitcoin", "BTC"), ("Ethereum", "ETH")]
POSITIVE = [
    "{a} rallies as institutional demand grows",
    "{a} gains after strong ETF inflows",
    "{a} climbs to a weekly high, traders optimistic",
    "Analysts upgrade {a} outlook on robust network growth",
    "{a} surges as exchange reserves fall",
    "{t} holders see profits as momentum improves",
]
NEGATIVE = [
    "{a} slides as regulators warn of risks",
    "{a} drops after a major exchange reports losses",
    "{a} falls amid fears of weak demand",
    "Investors worry as {a} breaks key support",
    "{t} plunges after liquidations hit leveraged traders",
    "{a} tumbles on fraud concerns and outflows",
]
NEUTRAL = [
    "{a} trades sideways ahead of the central bank meeting",
    "{t} volume steady as markets await inflation data",
    "What the {a} options expiry means this week",
    "{a} developers publish the next upgrade schedule",
]


def item(slot, every):
    """The item of a slot: (guid, pubDate, title, description, link)."""
    rnd = random.Random(slot * 7919 + 17)
    name, ticker = rnd.choice(ASSETS)
    mood = rnd.random()
    pool = POSITIVE if mood < 0.4 else NEGATIVE if mood < 0.8 else NEUTRAL
    title = rnd.choice(pool).format(a=name, t=ticker)
    other = ASSETS[1] if name == ASSETS[0][0] else ASSETS[0]
    desc = "%s. Simulated headline %d of the triggerstock local stack; %s was quiet." % (
        title, slot, other[0] if rnd.random() < 0.3 else "the wider market")
    when = email.utils.formatdate(slot * every, usegmt=True)
    guid = "triggerstock-sim-%d" % slot
    return guid, when, title, desc, "http://127.0.0.1/news/%d" % slot


def feed(every, backlog_hours):
    now = int(time.time())
    last = now // every
    first = (now - int(backlog_hours * 3600)) // every + 1
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
             '<title>triggerstock simulated crypto news</title>'
             '<link>http://127.0.0.1/</link>'
             '<description>Locally generated headlines</description>']
    for slot in range(last, first - 1, -1):
        guid, when, title, desc, link = item(slot, every)
        parts.append('<item><guid isPermaLink="false">%s</guid><title>%s</title>'
                     '<description>%s</description><link>%s</link><pubDate>%s</pubDate></item>'
                     % (guid, escape(title), escape(desc), link, when))
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--every", type=int, default=240)
    ap.add_argument("--backlog-hours", type=float, default=25)
    a = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            if self.path != "/feed.rss":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = feed(a.every, a.backlog_hours)
            etag = '"%s"' % hashlib.sha1(body).hexdigest()
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
