#!/usr/bin/env python3
"""Derives the TPDP/0.1 test vectors of tests/unit/v0_1_*_test.cpp independently
of tpdp's code: X25519 from RFC 7748 section 6.1, HKDF-SHA256 with `openssl kdf`,
AES-256-CTR keystreams with `openssl enc -aes-256-ctr` over zero bytes, and
XOR, concatenation and the offsets of spec/tpdp-0.1.md done here by hand.
Needs only python3 and the openssl command (OpenSSL 3)."""
import subprocess

# RFC 7748, 6.1: Alice plays the client of every hop, Bob the node.
ALICE_SECRET = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
ALICE_PUBLIC = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
BOB_SECRET = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
BOB_PUBLIC = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

HELLO = b"Hello TPDP/0.1\r\n"
ACK, ETB = b"\x06\x06", b"\x17\x17"


def hkdf(shared_hex):
    out = subprocess.run(["openssl", "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256",
                          "-kdfopt", "hexkey:" + shared_hex, "-kdfopt", "info:TPDP/0.1", "HKDF"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().replace(":", "").lower()


def keystream(key_hex, counter_hex, n):
    return subprocess.run(["openssl", "enc", "-aes-256-ctr", "-K", key_hex, "-iv", counter_hex],
                          input=bytes(n), check=True, capture_output=True).stdout


def xor(data, ks):
    assert len(ks) >= len(data)
    return bytes(a ^ b for a, b in zip(data, ks))


KEY = hkdf(SHARED)
print("key", KEY)

C1 = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
C2 = "ffffffffffffffffffffffffffffffff"  # hop 2's counter wraps after its first block
KS1 = keystream(KEY, C1, 4096)
KS2 = keystream(KEY, C2, 4096)

# One hop: the exit connects to 127.0.0.1:8080.
host1, port1 = b"127.0.0.1", 8080
request = b"GET / HTTP/1.0\r\n\r\n"
response = b"HTTP/1.0 200 OK\r\n"
up = (HELLO + bytes.fromhex(ALICE_PUBLIC) + bytes.fromhex(C1) + len(host1).to_bytes(2, "big") +
      xor(host1 + port1.to_bytes(2, "big") + request, KS1))
down = HELLO + bytes.fromhex(BOB_PUBLIC) + ACK + ACK + ETB + xor(response, KS1)
print("one_hop_up", up.hex())
print("one_hop_down", down.hex())

# Two hops: hop 1 connects to node 2 at 127.0.0.1:6002, hop 2 to 127.0.0.1:8080.
# Hop 2's messages travel on hop 1's forward stream from position L1 + 2;
# hop 2's replies on hop 1's backward stream from position 0.
host2, port2 = b"127.0.0.1", 8080
L1 = len(b"127.0.0.1")
up = HELLO + bytes.fromhex(ALICE_PUBLIC) + bytes.fromhex(C1) + L1.to_bytes(2, "big")
f1 = b"127.0.0.1" + (6002).to_bytes(2, "big")  # on hop 1's stream only
inner = (HELLO + bytes.fromhex(ALICE_PUBLIC) + bytes.fromhex(C2) + len(host2).to_bytes(2, "big") +
         xor(host2 + port2.to_bytes(2, "big") + request, KS2))
assert len(inner) == 68 + len(host2) + len(request)
up += xor(f1 + inner, KS1)
back2 = HELLO + bytes.fromhex(BOB_PUBLIC) + ACK + ACK + ETB
assert len(back2) == 54
down = (HELLO + bytes.fromhex(BOB_PUBLIC) + ACK + ACK + ETB +
        xor(back2 + xor(response, KS2), KS1))
print("two_hop_up", up.hex())
print("two_hop_down", down.hex())

# An error byte 2 from hop 3 after hop 3's Hello, key and first ACK (52 bytes), as the
# client receives it: under hop 2's backward stream at 52 and hop 1's at 54 + 52.
print("error_byte_at_hop1", hex(2 ^ KS1[54 + 52] ^ KS2[52]))

# The counter wraps at 2^128, and carries through every byte.
for name, iv in (("ff", "ff" * 16), ("low64", "0102030405060708" + "ff" * 8),
                 ("low32", "0102030405060708090a0b0c" + "ff" * 4)):
    print("ks_" + name, keystream(KEY, iv, 48).hex())
