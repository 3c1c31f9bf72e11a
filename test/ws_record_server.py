#!/usr/bin/python3
"""A local WebSocket server that records what clients ask for.

For every connection it appends one JSON line to the log file:
{"request": "GET <target> HTTP/1.1", "host": "<Host header>"}, then one
{"message": "..."} line per message the client sends (subscribe messages),
and keeps the connection open (sending nothing) until the client leaves.

Usage: ws_record_server.py HOST PORT LOG READY_FILE
Listens on HOST (127.0.0.1 or ::1) only; writes "ready" to READY_FILE once
listening; runs until killed.
"""
import asyncio
import json
import sys

import websockets


def main():
    host, port, log_path, ready_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

    def record(entry):
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    async def process_request(path, headers):
        record({"request": "GET %s HTTP/1.1" % path, "host": headers.get("Host", "")})
        return None  # go on with the handshake

    async def handler(websocket, path=None):
        try:
            async for message in websocket:
                record({"message": message if isinstance(message, str) else repr(message)})
        except websockets.ConnectionClosed:
            pass

    async def serve():
        async with websockets.serve(handler, host, port, process_request=process_request,
                                    ping_interval=None):
            with open(ready_path, "w", encoding="utf-8") as ready:
                ready.write("ready\n")
            await asyncio.Future()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
