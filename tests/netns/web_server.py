#!/usr/bin/env python3
"""The web server host of the network-namespace LAN test.

  web_server.py ADDRESS PORT DIRECTORY

Serves the files in DIRECTORY, and /slow: a 64 MiB body (Content-Length)
sent at about 1.6 MB/s, a transfer still running when a link is cut. Stops
by itself after 150 s at the latest.
"""
import http.server
import os
import sys
import threading


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/slow":
            return super().do_GET()
        total, chunk = 64 * 1024 * 1024, b"s" * 32768
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        stop = threading.Event()
        try:
            for _ in range(total // len(chunk)):
                self.wfile.write(chunk)
                if stop.wait(0.02):
                    break
        except OSError:
            pass  # the circuit was cut: expected

    def log_message(self, fmt, *args):
        sys.stderr.write("web: " + (fmt % args) + "\n")


def main():
    address, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.chdir(directory)
    server = http.server.ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Timer(150, server.shutdown).start()
    print("web: serving %s on %s:%d" % (directory, address, port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
