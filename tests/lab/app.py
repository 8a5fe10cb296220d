#!/usr/bin/python3
"""The stand-in for the customer's Node app: answers HTTP 200 with the node's name on a port."""

import argparse
import http.server
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--ready", help="file to create once listening")
    args = parser.parse_args()
    body = (args.name + "\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer(("0.0.0.0", args.port), Handler)
    if args.ready:
        with open(args.ready, "w") as handle:
            handle.write("%d\n" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    main()
