#!/usr/bin/env python3
"""Compares what tpdp-tap recorded on each link of a path, for two fetches.

  compare_links.py CAPS LINK... 

CAPS/LINK/ holds one tap's recordings (conn-N.forward, conn-N.backward), one
LINK per link in path order, the last one the exit's link to the web server
(plain HTTP). Of each link the last two connections that carried bytes are
taken: fetch 1 and fetch 2 of the same page grown between them. A connection
that carried only a CREATE (68 bytes) and its answer is the pool checking
that the node answers at its address, not a circuit: it is skipped.

For each fetch it prints each link's byte counts and whether the page body
can be read on it, and whether any two links share a run of 8 bytes (the
same ciphertext); then how much each link grew from fetch 1 to fetch 2.
"""
import os
import re
import sys


def connections(folder):
    found = []
    for name in os.listdir(folder):
        m = re.fullmatch(r"conn-(\d+)\.forward", name)
        if m:
            base = os.path.join(folder, "conn-" + m.group(1))
            with open(base + ".forward", "rb") as f, open(base + ".backward", "rb") as b:
                fwd, bwd = f.read(), b.read()
            pool_check = len(fwd) == 68 and len(bwd) <= 65
            if fwd and not pool_check:
                found.append((int(m.group(1)), fwd, bwd))
    return [(fwd, bwd) for _, fwd, bwd in sorted(found)]


def grams(data, n=8):
    return {data[i:i + n] for i in range(len(data) - n + 1)}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    caps, links = sys.argv[1], sys.argv[2:]
    recorded = {}
    for link in links:
        conns = connections(os.path.join(caps, link))
        if len(conns) < 2:
            sys.exit("%s: fewer than two connections recorded" % link)
        recorded[link] = conns[-2:]
    totals = {}
    for fetch in (0, 1):
        clear = recorded[links[-1]][fetch][1]
        body = clear.split(b"\r\n\r\n", 1)[1]
        print("fetch %d: the page is %d bytes" % (fetch + 1, len(body)))
        print("  %-12s %8s %9s  %s" % ("link", "forward", "backward", "page readable"))
        for link in links:
            fwd, bwd = recorded[link][fetch]
            totals.setdefault(link, []).append(len(bwd))
            print("  %-12s %8d %9d  %s" % (link, len(fwd), len(bwd),
                                            "yes" if body[:32] in bwd else "no"))
        shared = []
        for i, a in enumerate(links):
            for b in links[i + 1:]:
                for d in (0, 1):
                    if grams(recorded[a][fetch][d]) & grams(recorded[b][fetch][d]):
                        shared.append("%s/%s %s" % (a, b, ("forward", "backward")[d]))
        print("  links sharing an 8-byte run of the same direction: %s" %
              (", ".join(shared) if shared else "none"))
    clear = [recorded[links[-1]][fetch][1] for fetch in (0, 1)]
    page = [len(c.split(b"\r\n\r\n", 1)[1]) for c in clear]
    print("the response grew by %d bytes (page %+d, headers %+d); backward bytes grew by: %s" %
          (len(clear[1]) - len(clear[0]), page[1] - page[0],
           len(clear[1]) - len(clear[0]) - (page[1] - page[0]),
           ", ".join("%s %+d" % (link, t[1] - t[0]) for link, t in totals.items())))


if __name__ == "__main__":
    main()
