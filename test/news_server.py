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
  /tagged/TAG/NAME the real feed NAME with every guid prefixed by "TAG-"
                   (fresh items for each TAG)
  /slow/MS/TAG/NAME  /tagged/TAG/NAME after MS milliseconds
  /redirect?URL    302 to URL (any scheme and host)
Sentiment model endpoints (POST, JSON):
  /v1/chat/completions  OpenAI-shaped; the request must be
                   {"model": str, "temperature": 0, "messages": [system, user]}
                   (else 400); content "0.9" when the user text contains
                   "bitcoin" (ASCII case-insensitive), else "-0.4"
  /hf/classify     Hugging Face-shaped {"inputs": str} (else 400) ->
                   [[{"label": "Positive", ...}, {"label": "NEGATIVE", ...},
                   {"label": "neutral", ...}]]: 0.75/0.125/0.125 when the text
                   contains "bitcoin", else 0.125/0.625/0.25 (p - n = 0.625,
                   -0.5)
  /sentiment/broken  HTTP 500 with {"error": "model crashed"}
  /sentiment/echo    HTTP 401 whose error message repeats the Authorization
                   header it got (as some APIs quote a wrong key)
  /sentiment/slow    reads the request, then never answers
Every POST is appended to STATE_DIR/sentiment.log ("PATH STATUS AUTHORIZATION").
Every request is appended to STATE_DIR/requests.log ("METHOD PATH STATUS").
The test stops the server by its pid.
"""
import email.utils
import hashlib
import http.server
import json
import os
import re
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
        if p.startswith("/redirect?"):
            self.note(302)
            self.send_response(302)
            self.send_header("Location", p[len("/redirect?"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        m = re.match(r"^/slow/([0-9]+)(/.*)$", p)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
            p = "/tagged" + m.group(2)
        m = re.match(r"^/tagged/([A-Za-z0-9_-]+)/([A-Za-z0-9_.-]+)$", p)
        if m:
            try:
                with open(os.path.join(DATA, "news", "rss", m.group(2) + ".rss"), "rb") as f:
                    body = f.read()
            except FileNotFoundError:
                return self.send_body(404, b"not found", "text/plain")
            body = re.sub(rb"<guid([^>]*)>", b"<guid\\1>" + m.group(1).encode() + b"-", body)
            return self.send_body(200, body, "application/rss+xml")
        return self.send_body(404, b"not found", "text/plain")

    def sentiment_note(self, status):
        with open(os.path.join(STATE, "sentiment.log"), "a") as log:
            log.write("%s %d %s\n" % (self.path, status, self.headers.get("Authorization", "-")))

    def send_json(self, status, obj):
        self.sentiment_note(status)
        self.send_body(status, json.dumps(obj).encode(), "application/json")

    def do_POST(self):
        p = self.path
        try:
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        except ValueError:
            return self.send_json(400, {"error": "request is not JSON"})
        if self.headers.get("Content-Type") != "application/json":
            return self.send_json(400, {"error": "Content-Type is not application/json"})
        if p == "/sentiment/echo":
            return self.send_json(401, {"error": {"message": "key: %s" % self.headers.get("Authorization", "-")}})
        if p == "/v1/chat/completions":
            msgs = req.get("messages") if isinstance(req, dict) else None
            if (not isinstance(req.get("model"), str) or req.get("temperature") != 0
                    or not isinstance(msgs, list) or len(msgs) != 2
                    or msgs[0].get("role") != "system" or msgs[1].get("role") != "user"
                    or "from -1" not in msgs[0].get("content", "")
                    or not isinstance(msgs[1].get("content"), str)):
                return self.send_json(400, {"error": {"message": "bad chat request"}})
            text = msgs[1]["content"].encode().lower()
            content = "0.9" if b"bitcoin" in text else "-0.4"
            return self.send_json(200, {
                "id": "chatcmpl-test", "object": "chat.completion", "model": req["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}]})
        if p == "/hf/classify":
            if not isinstance(req, dict) or not isinstance(req.get("inputs"), str):
                return self.send_json(400, {"error": "inputs must be a string"})
            if b"bitcoin" in req["inputs"].encode().lower():
                pos, neg, neu = 0.75, 0.125, 0.125
            else:
                pos, neg, neu = 0.125, 0.625, 0.25
            return self.send_json(200, [[{"label": "Positive", "score": pos},
                                         {"label": "NEGATIVE", "score": neg},
                                         {"label": "neutral", "score": neu}]])
        if p == "/sentiment/broken":
            return self.send_json(500, {"error": "model crashed"})
        if p == "/sentiment/slow":
            self.sentiment_note(0)
            time.sleep(3600)
            return
        return self.send_json(404, {"error": "not found"})


class Server(http.server.ThreadingHTTPServer):
    # listen backlog: socketserver's default of 5 overflows when the poll
    # worker opens its 64 transfers at once (093); the kernel then drops the
    # handshake's last ACK and the client's retransmissions back off (0.2 s
    # doubling), so some requests arrive after triggerstock.poll_timeout
    request_queue_size = 128


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = os.path.join(STATE, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, os.path.join(STATE, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
