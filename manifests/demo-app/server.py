#!/usr/bin/env python3
"""ha-bundle's demo app: what the field flow installs and protects when no customer app is given.

A tiny HTTP service (Python 3.6 standard library, so every target runs it offline):
  GET  /health          200 "ok <node>"   (keepalived's check)
  GET  /                200 "<node>"      (which node answered through the VIP)
  PUT  /files/<name>    store an upload in the first data directory (HA_APP_DATA)
  GET  /files/<name>    read it back
Settings come from the environment the service unit sets: HA_APP_PORT, HA_APP_NODE,
HA_APP_DATA (':'-separated directories).
"""

import http.server
import os
import re
import socketserver

PORT = int(os.environ.get("HA_APP_PORT", "8081"))
NODE = os.environ.get("HA_APP_NODE", "demo")
DATA = (os.environ.get("HA_APP_DATA", "") or "").split(":")[0]
NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _file(self):
        name = self.path[len("/files/"):]
        if not DATA or not NAME.match(name):
            return None
        return os.path.join(DATA, name)

    def do_GET(self):
        if self.path == "/health":
            return self._send(200, "ok " + NODE)
        if self.path == "/":
            return self._send(200, NODE)
        if self.path.startswith("/files/"):
            path = self._file()
            if path and os.path.isfile(path):
                with open(path) as handle:
                    return self._send(200, handle.read())
        return self._send(404, "not found")

    def do_PUT(self):
        path = self._file() if self.path.startswith("/files/") else None
        if path is None:
            return self._send(400, "bad name")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20))
        tmp = path + ".part"
        with open(tmp, "wb") as handle:
            handle.write(body)
        os.rename(tmp, path)
        return self._send(201, "stored")

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("", PORT), Handler).serve_forever()
