#!/usr/bin/env python3
"""A tiny web server for the labs: answers every request with one short page.

  secret_server.py PORT TEXT
  secret_server.py PORT @FILE

Listens on 127.0.0.1:PORT; reads the request head (at most 64 KiB, 10 s),
answers "HTTP/1.0 200 OK" with TEXT and a newline as the body (or FILE's
bytes, read again for each request), and closes.
Its answer is short on purpose: exercise 3 recovers all of it.
"""
import socketserver
import sys


class Page(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        text = self.server.text
        if text.startswith("@"):
            with open(text[1:], "rb") as f:
                body = f.read()
        else:
            body = (text + "\n").encode()
        self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" %
                             (len(body), body))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    server = Server(("127.0.0.1", int(sys.argv[1])), Page)
    server.text = sys.argv[2]
    server.serve_forever()
