// The chunked transfer coding decoder shared by `tpdp-client get` and
// tpdp-http-proxy: every split of the input, limits, and exact error texts.
#include "client/http_chunked.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace tpdp::http;

namespace {

struct Decoded {
  ChunkedDecoder::Result status = ChunkedDecoder::Result::need_more;
  std::string body;
  std::size_t consumed = 0;  // of the whole input
  std::string error;
};

// Feeds `wire` in pieces cut at `cuts` (sorted offsets), stopping at done/error.
Decoded decode_split(const std::string& wire, const std::vector<std::size_t>& cuts) {
  ChunkedDecoder d;
  Decoded r;
  std::size_t at = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(wire.size());
  for (auto end : ends) {
    if (end < at) continue;
    std::size_t used = 0;
    r.status = d.feed(std::string_view(wire).substr(at, end - at), used, r.body);
    r.consumed += used;
    at = end;
    if (r.status != ChunkedDecoder::Result::need_more) break;
  }
  r.error = d.error();
  return r;
}

Decoded decode(const std::string& wire) {
  return decode_split(wire, {});
}

std::string error_of(const std::string& wire) {
  auto r = decode(wire);
  INFO("wire: " << wire);
  CHECK(r.status == ChunkedDecoder::Result::error);
  return r.error;
}

// The chunked form of body, in chunks of the given sizes (cycled).
std::string encode(const std::string& body, const std::vector<std::size_t>& sizes,
                   const std::string& extension = "", const std::string& trailers = "") {
  std::string out;
  std::size_t at = 0, i = 0;
  while (at < body.size()) {
    std::size_t n = std::min(sizes[i++ % sizes.size()], body.size() - at);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", n);
    out += hex + extension + "\r\n" + body.substr(at, n) + "\r\n";
    at += n;
  }
  return out + "0" + extension + "\r\n" + trailers + "\r\n";
}

}  // namespace

TEST_CASE("chunked: a simple body", "[http_chunked]") {
  std::string wire = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
  auto r = decode(wire);
  CHECK(r.status == ChunkedDecoder::Result::done);
  CHECK(r.body == "hello, world");
  CHECK(r.consumed == wire.size());
}

TEST_CASE("chunked: every split of the input gives the same body", "[http_chunked]") {
  std::string wire =
      "4;name=value\r\nWiki\r\n5 ; a ; b=\"q\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
      "0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n";
  const std::string body = "Wikipedia in\r\n\r\nchunks.";
  // Every single cut point, and every pair of cut points.
  for (std::size_t a = 0; a <= wire.size(); ++a) {
    auto r = decode_split(wire, {a});
    INFO("cut at " << a);
    REQUIRE(r.status == ChunkedDecoder::Result::done);
    CHECK(r.body == body);
  }
  for (std::size_t a = 0; a <= wire.size(); a += 3) {
    for (std::size_t b = a; b <= wire.size(); ++b) {
      auto r = decode_split(wire, {a, b});
      INFO("cuts at " << a << ", " << b);
      REQUIRE(r.status == ChunkedDecoder::Result::done);
      CHECK(r.body == body);
    }
  }
  // One byte at a time.
  std::vector<std::size_t> each;
  for (std::size_t i = 1; i < wire.size(); ++i) each.push_back(i);
  auto r = decode_split(wire, each);
  CHECK(r.status == ChunkedDecoder::Result::done);
  CHECK(r.body == body);
}

TEST_CASE("chunked: random bodies, chunk sizes and splits", "[http_chunked]") {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    std::string body(rng() % 5000, '\0');
    for (auto& c : body) c = static_cast<char>(rng());
    std::vector<std::size_t> sizes{1 + rng() % 700, 1 + rng() % 3, 1 + rng() % 4096};
    std::string wire =
        encode(body, sizes, round % 3 == 0 ? ";x=y" : "", round % 2 == 0 ? "Trailer-A: 1\r\n" : "");
    std::vector<std::size_t> cuts;
    for (std::size_t at = rng() % 50; at < wire.size(); at += 1 + rng() % 900) cuts.push_back(at);
    auto r = decode_split(wire, cuts);
    INFO("round " << round);
    REQUIRE(r.status == ChunkedDecoder::Result::done);
    CHECK(r.body == body);
    CHECK(r.consumed == wire.size());
  }
}

TEST_CASE("chunked: hex sizes in both cases, leading zeros, bare LF", "[http_chunked]") {
  auto r = decode("a\r\n0123456789\r\nA\r\nabcdefghij\r\n000001\r\nZ\r\n00\r\n\r\n");
  CHECK(r.status == ChunkedDecoder::Result::done);
  CHECK(r.body == "0123456789abcdefghijZ");
  // Bare LF line ends are tolerated (RFC 9112 section 2.2).
  auto lf = decode("3\nabc\n0\nX: y\n\n");
  CHECK(lf.status == ChunkedDecoder::Result::done);
  CHECK(lf.body == "abc");
  // Whitespace between the size and the line end.
  auto ws = decode("3 \t\r\nabc\r\n0\r\n\r\n");
  CHECK(ws.status == ChunkedDecoder::Result::done);
  CHECK(ws.body == "abc");
}

TEST_CASE("chunked: what follows the body is not consumed", "[http_chunked]") {
  std::string wire = "2\r\nok\r\n0\r\n\r\n";
  auto r = decode(wire + "HTTP/1.1 200 OK\r\n");
  CHECK(r.status == ChunkedDecoder::Result::done);
  CHECK(r.body == "ok");
  CHECK(r.consumed == wire.size());
  // Fed again after done: nothing is taken.
  ChunkedDecoder d;
  std::string out;
  std::size_t used = 0;
  CHECK(d.feed(wire, used, out) == ChunkedDecoder::Result::done);
  CHECK(d.feed("more", used, out) == ChunkedDecoder::Result::done);
  CHECK(used == 0);
  CHECK(out == "ok");
}

TEST_CASE("chunked: incomplete input needs more", "[http_chunked]") {
  std::string wire = "5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("prefix " << n);
    auto r = decode(wire.substr(0, n));
    CHECK(r.status == ChunkedDecoder::Result::need_more);
    CHECK(r.consumed == n);
  }
}

TEST_CASE("chunked: bad sizes and framing", "[http_chunked]") {
  CHECK(error_of("\r\n") == "malformed chunk size");
  CHECK(error_of("g\r\n") == "malformed chunk size");
  CHECK(error_of("-1\r\n") == "malformed chunk size");
  CHECK(error_of("+1\r\n") == "malformed chunk size");
  CHECK(error_of("0x10\r\n") == "malformed chunk size");
  CHECK(error_of(" 5\r\n") == "malformed chunk size");
  CHECK(error_of(";ext\r\n") == "malformed chunk size");
  CHECK(error_of("5 5\r\nhello\r\n") == "malformed chunk size");
  CHECK(error_of("5z\r\n") == "malformed chunk size");
  CHECK(error_of("10000000000000000\r\n") == "chunk size too large");  // 2^64
  CHECK(error_of("ffffffffffffffffff\r\n") == "chunk size too large");
  CHECK(error_of("5\rX") == "bare CR in a chunk size line");
  CHECK(error_of("5;a\x01\r\n") == "control character in a chunk extension");
  CHECK(error_of("5\r\nhelloX\r\n") == "chunk data longer than its size");
  CHECK(error_of("5\r\nhello\rX") == "chunk data longer than its size");
  CHECK(error_of("0\r\nT: v\rX") == "bare CR in the trailer section");
  CHECK(error_of("1;" + std::string(5000, 'e') + "\r\n") == "chunk size line longer than 4 KiB");
  // Leading zeros count towards the line limit, not the size.
  CHECK(error_of(std::string(5000, '0') + "1\r\n") == "chunk size line longer than 4 KiB");
  std::string many_trailers = "0\r\n";
  for (int i = 0; i < 2000; ++i) many_trailers += "X-Filler: " + std::string(40, 'f') + "\r\n";
  CHECK(error_of(many_trailers) == "trailer section too large");
  // A huge announced size is fine (it is streamed), as long as it fits 64 bits.
  auto big = decode("ffffffffffffffff\r\nabc");
  CHECK(big.status == ChunkedDecoder::Result::need_more);
  CHECK(big.body == "abc");
  // After an error the decoder stays failed.
  ChunkedDecoder d;
  std::string out;
  std::size_t used = 0;
  CHECK(d.feed("x", used, out) == ChunkedDecoder::Result::error);
  CHECK(d.failed());
  CHECK(d.feed("5\r\nhello\r\n0\r\n\r\n", used, out) == ChunkedDecoder::Result::error);
  CHECK(out.empty());
}

TEST_CASE("chunked: re-encoding with append_chunk decodes to the same data", "[http_chunked]") {
  std::string encoded;
  append_chunk(encoded, "hello");
  append_chunk(encoded, "");  // nothing: an empty chunk would end the body
  append_chunk(encoded, std::string(300, 'z'));
  encoded += kLastChunk;
  CHECK(encoded.rfind("5\r\nhello\r\n12c\r\n", 0) == 0);
  auto r = decode(encoded);
  CHECK(r.status == ChunkedDecoder::Result::done);
  CHECK(r.body == "hello" + std::string(300, 'z'));
}

TEST_CASE("chunked: more malformed inputs, each an error with a reason", "[http_chunked]") {
  for (std::string bad : {"zz\r\n", "5x\r\n", "0x5\r\nhello\r\n", "11111111111111111\r\n",
                          "5\r\nhello\r\n0\r\nX\rY\r\n", "5;\x01\r\n"}) {
    INFO(bad);
    auto r = decode(bad);
    CHECK(r.status == ChunkedDecoder::Result::error);
    CHECK_FALSE(r.error.empty());
  }
  // The largest size with 15 digits is fine (and waits for its data).
  CHECK(decode("FFFFFFFFFFFFFFF\r\nab").status == ChunkedDecoder::Result::need_more);
}
