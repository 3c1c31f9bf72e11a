#!/usr/bin/env python3
"""Local HTTP server for the news/quote polling tests (127.0.0.1 only).

Usage: news_server.py SHARED_DATA_DIR STATE_DIR
Writes the port it listens on to STATE_DIR/port, then serves:
  /feed/NAME       ../shared/data/news/rss/NAME.rss, with ETag and
                   Last-Modified; If-None-Match / If-Modified-Since -> 304
  /file/NAME       STATE_DIR/NAME (the test rewrites it: a "changing" feed),
                   same conditional GET support, ETag from the content
  /quote/NAME      STATE_DIR/NAME.json (the test rewrites it: changing prices)
  /malformed       truncated RSS
  /xxe             an RSS document with an external entity (file:///etc/passwd)
  /big             50 MB of body, no Content-Length (close-delimited)
  /hang            accepts, then never answers
  /loop            302 to itself, forever
  /status/N        answers with HTTP status N
Every request is appended to STATE_DIR/requests.log ("METHOD PATH STATUS").
The test stops the server by its pid.
"""
import email.utils
import hashlib
import http.server
import os
import sys
import time

DATA, STATE = sys.argv[1], sys.argv[2]
STARTED = email.utils.formatdate(time.time() - 3600, usegmt=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def note(self, status):
        with open(os.path.join(STATE, "requests.log"), "a") as log:
            log.write("%s %s %d %s\n" % (self.command, self.path, status,
                                         self.headers.get("If-None-Match", "-")))

    def send_body(self, status, body, ctype, extra=None):
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def conditional(self, body, ctype):
        etag = '"%s"' % hashlib.sha1(body).hexdigest()
        if self.headers.get("If-None-Match") == etag:
            self.note(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_body(200, body, ctype, {"ETag": etag, "Last-Modified": STARTED})

    def do_GET(self):
        p = self.path
        try:
            if p.startswith("/feed/"):
                with open(os.path.join(DATA, "news", "rss", os.path.basename(p[6:]) + ".rss"), "rb") as f:
                    return self.conditional(f.read(), "application/rss+xml")
            if p.startswith("/file/"):
                with open(os.path.join(STATE, os.path.basename(p[6:])), "rb") as f:
                    return self.conditional(f.read(), "application/rss+xml")
            if p.startswith("/quote/"):
                with open(os.path.join(STATE, os.path.basename(p[7:]) + ".json"), "rb") as f:
                    return self.send_body(200, f.read(), "application/json")
        except FileNotFoundError:
            return self.send_body(404, b"not found", "text/plain")
        if p == "/malformed":
            return self.send_body(200, b'<?xml version="1.0"?><rss version="2.0"><channel>'
                                  b'<item><guid>m1</guid><title>half', "application/rss+xml")
        if p == "/xxe":
            return self.send_body(200, b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM '
                                  b'"file:///etc/passwd">]>\n<rss version="2.0"><channel><item>'
                                  b'<guid>xxe1</guid><title>&xxe;</title></item></channel></rss>',
                                  "application/rss+xml")
        if p == "/big":
            self.note(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            chunk = b"<!-- " + b"x" * 65526 + b" -->"
            try:
                self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
                for _ in range(50 * 16):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if p == "/hang":
            self.note(0)
            time.sleep(3600)
            return
        if p == "/loop":
            self.note(302)
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if p.startswith("/status/"):
            return self.send_body(int(p[8:]), b"status", "text/plain")
        return self.send_body(404, b"not found", "text/plain")


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = os.path.join(STATE, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, os.path.join(STATE, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
