#!/usr/bin/env python3
"""Two-time pad: recover an HTTP exchange from one recorded link, without a key.

  two_time_pad.py FORWARD BACKWARD [--path /]

FORWARD and BACKWARD are the two directions of one connection into an exit
node, as tpdp-tap recorded them (conn-N.forward, conn-N.backward).

In TPDP/0.1 both directions of a hop are encrypted with the same AES-CTR
keystream KS, from position 0 each: forward carries host|port|request XOR KS,
backward carries response XOR KS. XOR the two and KS cancels:
host|port|request XOR response. Where one side is known or guessable, the
other one appears.

1. Where does the encrypted part start? The script does not trust the
   protocol description: it tries every pair of start offsets (the first 512
   bytes of each direction) and keeps the one where guessing that the response
   starts with "HTTP/1.x 200 OK\\r\\n" turns the other side into a host name,
   a 2-byte port and "GET /": that reveals the destination.
2. tpdp-client get sends a fixed request for a URL; with the host, the port
   and the path (--path, "/" by default) it is known byte for byte. XOR it in:
   out comes the response, as many bytes of it as the request is long.

Exit status 0 when the exchange was recovered, 3 when no offsets fit (as on
TPDP/1, whose directions share no keystream).
"""
import argparse
import re
import sys

CRIBS = [b"HTTP/1.0 200 OK\r\n", b"HTTP/1.1 200 OK\r\n"]
SEARCH = 512
# host (letters, digits, dots, dashes), 2 port bytes, then an HTTP method.
DESTINATION = re.compile(rb"([A-Za-z0-9.\-]{1,11})(..)(GET|HEAD|POST|PUT) /", re.S)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def find_alignment(forward, backward):
    """(forward offset, backward offset, crib, match) of the first fit, or None."""
    n = len(CRIBS[0])
    cribs = [int.from_bytes(c, "big") for c in CRIBS]
    f_words = [int.from_bytes(forward[i:i + n], "big") for i in range(min(SEARCH, len(forward) - n + 1))]
    b_words = [int.from_bytes(backward[j:j + n], "big") for j in range(min(SEARCH, len(backward) - n + 1))]
    for i, fw in enumerate(f_words):
        for j, bw in enumerate(b_words):
            x = fw ^ bw
            for crib, c in zip(CRIBS, cribs):
                guess = (x ^ c).to_bytes(n, "big")
                # Cheap test first: a method must appear.
                if b" /" not in guess:
                    continue
                m = DESTINATION.match(guess)
                if m:
                    return i, j, crib, m
    return None


def printable(data):
    return "".join(chr(b) if 32 <= b < 127 or b == 10 else "\\x%02x" % b
                   for b in data.replace(b"\r\n", b"\n"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("forward")
    parser.add_argument("backward")
    parser.add_argument("--path", default="/", help="the URL path the victim fetched (a guess)")
    args = parser.parse_args()
    forward = open(args.forward, "rb").read()
    backward = open(args.backward, "rb").read()
    print("recorded: %d bytes forward, %d bytes backward" % (len(forward), len(backward)))

    found = find_alignment(forward, backward)
    if not found:
        print("no pair of offsets turns the XOR of the two directions into an HTTP exchange:")
        print("it is noise, the two directions do not share a keystream")
        return 3
    i, j, crib, m = found
    host, port = m.group(1).decode(), int.from_bytes(m.group(2), "big")
    print("keystream shared: forward from byte %d and backward from byte %d cancel out" % (i, j))
    print("guessing the response starts with \"%s\" gives \"%s\"" %
          (printable(crib).replace("\n", "\\r\\n"),
           printable(xor(xor(forward[i:], backward[j:]), crib)).replace("\n", "\\r\\n")))
    print("destination: %s:%d" % (host, port))

    authority = host if port == 80 else "%s:%d" % (host, port)
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tpdp-client/0.1\r\nAccept: */*\r\n"
               "Connection: close\r\n\r\n" % (args.path, authority)).encode()
    known_forward = host.encode() + port.to_bytes(2, "big") + request
    ciphertext = backward[j:]
    response = xor(xor(forward[i:], ciphertext), known_forward)
    print("response recovered: %d of its %d bytes, using tpdp-client get's request for "
          "http://%s%s:" % (len(response), len(ciphertext), authority, args.path))
    for line in printable(response).splitlines():
        print("  | " + line)
    if not response.startswith(crib):
        print("(the start does not match the guess: the path guess is wrong, try --path)")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
