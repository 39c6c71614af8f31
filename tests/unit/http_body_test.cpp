#include "client/http_body.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace tpdp;

namespace {

struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::need_more;
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
    r.status = d.feed(std::string_view(wire).substr(at, end - at), r.body, used);
    r.consumed += used;
    at = end;
    if (r.status != ChunkedDecoder::Status::need_more) break;
  }
  r.error = d.error();
  CHECK(d.body_bytes() == r.body.size());
  return r;
}

Decoded decode(const std::string& wire) {
  return decode_split(wire, {});
}

std::string error_of(const std::string& wire) {
  auto r = decode(wire);
  INFO("wire: " << wire);
  CHECK(r.status == ChunkedDecoder::Status::error);
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

HttpResponseHead head_with(int status, std::optional<std::uint64_t> length, bool chunked) {
  HttpResponseHead h;
  h.status = status;
  h.content_length = length;
  h.chunked = chunked;
  return h;
}

}  // namespace

TEST_CASE("chunked: a simple body", "[http_body]") {
  std::string wire = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
  auto r = decode(wire);
  CHECK(r.status == ChunkedDecoder::Status::done);
  CHECK(r.body == "hello, world");
  CHECK(r.consumed == wire.size());
}

TEST_CASE("chunked: every split of the input gives the same body", "[http_body]") {
  std::string wire =
      "4;name=value\r\nWiki\r\n5 ; a ; b=\"q\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
      "0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n";
  const std::string body = "Wikipedia in\r\n\r\nchunks.";
  // Every single cut point, and every pair of cut points.
  for (std::size_t a = 0; a <= wire.size(); ++a) {
    auto r = decode_split(wire, {a});
    INFO("cut at " << a);
    REQUIRE(r.status == ChunkedDecoder::Status::done);
    CHECK(r.body == body);
  }
  for (std::size_t a = 0; a <= wire.size(); a += 3) {
    for (std::size_t b = a; b <= wire.size(); ++b) {
      auto r = decode_split(wire, {a, b});
      INFO("cuts at " << a << ", " << b);
      REQUIRE(r.status == ChunkedDecoder::Status::done);
      CHECK(r.body == body);
    }
  }
  // One byte at a time.
  std::vector<std::size_t> each;
  for (std::size_t i = 1; i < wire.size(); ++i) each.push_back(i);
  auto r = decode_split(wire, each);
  CHECK(r.status == ChunkedDecoder::Status::done);
  CHECK(r.body == body);
}

TEST_CASE("chunked: random bodies, chunk sizes and splits", "[http_body]") {
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
    REQUIRE(r.status == ChunkedDecoder::Status::done);
    CHECK(r.body == body);
    CHECK(r.consumed == wire.size());
  }
}

TEST_CASE("chunked: hex sizes in both cases, leading zeros, bare LF", "[http_body]") {
  auto r = decode("a\r\n0123456789\r\nA\r\nabcdefghij\r\n000001\r\nZ\r\n00\r\n\r\n");
  CHECK(r.status == ChunkedDecoder::Status::done);
  CHECK(r.body == "0123456789abcdefghijZ");
  // Bare LF line ends are tolerated (RFC 9112 section 2.2).
  auto lf = decode("3\nabc\n0\nX: y\n\n");
  CHECK(lf.status == ChunkedDecoder::Status::done);
  CHECK(lf.body == "abc");
  // Whitespace between the size and the line end.
  auto ws = decode("3 \t\r\nabc\r\n0\r\n\r\n");
  CHECK(ws.status == ChunkedDecoder::Status::done);
  CHECK(ws.body == "abc");
}

TEST_CASE("chunked: what follows the body is not consumed", "[http_body]") {
  std::string wire = "2\r\nok\r\n0\r\n\r\n";
  auto r = decode(wire + "HTTP/1.1 200 OK\r\n");
  CHECK(r.status == ChunkedDecoder::Status::done);
  CHECK(r.body == "ok");
  CHECK(r.consumed == wire.size());
  // Fed again after done: nothing is taken.
  ChunkedDecoder d;
  std::string out;
  std::size_t used = 0;
  CHECK(d.feed(wire, out, used) == ChunkedDecoder::Status::done);
  CHECK(d.feed("more", out, used) == ChunkedDecoder::Status::done);
  CHECK(used == 0);
  CHECK(out == "ok");
}

TEST_CASE("chunked: incomplete input needs more", "[http_body]") {
  std::string wire = "5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n";
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("prefix " << n);
    auto r = decode(wire.substr(0, n));
    CHECK(r.status == ChunkedDecoder::Status::need_more);
    CHECK(r.consumed == n);
  }
}

TEST_CASE("chunked: bad sizes and framing", "[http_body]") {
  CHECK(error_of("\r\n") == "bad chunk size");
  CHECK(error_of("g\r\n") == "bad chunk size");
  CHECK(error_of("-1\r\n") == "bad chunk size");
  CHECK(error_of("+1\r\n") == "bad chunk size");
  CHECK(error_of("0x10\r\n") == "bad chunk size");
  CHECK(error_of(" 5\r\n") == "bad chunk size");
  CHECK(error_of(";ext\r\n") == "bad chunk size");
  CHECK(error_of("5 5\r\nhello\r\n") == "bad chunk size");
  CHECK(error_of("5z\r\n") == "bad chunk size");
  CHECK(error_of("10000000000000000\r\n") == "chunk size too large");  // 2^64
  CHECK(error_of("ffffffffffffffffff\r\n") == "chunk size too large");
  CHECK(error_of("5\rX") == "bad line ending in chunked body");
  CHECK(error_of("5;a\x01\r\n") == "bad chunk extension");
  CHECK(error_of("5\r\nhelloX\r\n") == "missing CRLF after chunk data");
  CHECK(error_of("5\r\nhello\rX") == "missing CRLF after chunk data");
  CHECK(error_of("0\r\nT: v\rX") == "bad line ending in chunked body");
  CHECK(error_of("1;" + std::string(5000, 'e') + "\r\n") == "chunk size line longer than 4 KiB");
  // Leading zeros count towards the line limit, not the size.
  CHECK(error_of(std::string(5000, '0') + "1\r\n") == "chunk size line longer than 4 KiB");
  std::string many_trailers = "0\r\n";
  for (int i = 0; i < 2000; ++i) many_trailers += "X-Filler: " + std::string(40, 'f') + "\r\n";
  CHECK(error_of(many_trailers) == "trailers longer than 64 KiB");
  // A huge announced size is fine (it is streamed), as long as it fits 64 bits.
  auto big = decode("ffffffffffffffff\r\nabc");
  CHECK(big.status == ChunkedDecoder::Status::need_more);
  CHECK(big.body == "abc");
  // After an error the decoder stays failed.
  ChunkedDecoder d;
  std::string out;
  std::size_t used = 0;
  CHECK(d.feed("x", out, used) == ChunkedDecoder::Status::error);
  CHECK(d.failed());
  CHECK(d.feed("5\r\nhello\r\n0\r\n\r\n", out, used) == ChunkedDecoder::Status::error);
  CHECK(out.empty());
}

TEST_CASE("body framing follows the response head", "[http_body]") {
  CHECK(HttpBodyDecoder(head_with(200, 5, true)).framing() == BodyFraming::chunked);
  CHECK(HttpBodyDecoder(head_with(200, 5, false)).framing() == BodyFraming::length);
  CHECK(HttpBodyDecoder(head_with(200, std::nullopt, false)).framing() == BodyFraming::close);
  CHECK(HttpBodyDecoder(head_with(404, 9, false)).framing() == BodyFraming::length);
  for (int status : {100, 199, 204, 304}) {
    INFO("status " << status);
    HttpBodyDecoder d(head_with(status, 10, true));
    CHECK(d.framing() == BodyFraming::none);
    CHECK(d.complete());
    CHECK(d.expected_bytes() == std::optional<std::uint64_t>(0));
    CHECK(d.end_of_stream().empty());
  }
}

TEST_CASE("Content-Length bodies: exact, extra bytes ignored, truncation", "[http_body]") {
  HttpBodyDecoder d(head_with(200, 10, false));
  CHECK(d.expected_bytes() == std::optional<std::uint64_t>(10));
  std::string out;
  CHECK(d.feed("01234", out));
  CHECK_FALSE(d.complete());
  CHECK(d.feed("56789extra", out));
  CHECK(d.complete());
  CHECK(out == "0123456789");
  CHECK(d.end_of_stream().empty());

  HttpBodyDecoder short_body(head_with(200, 1000, false));
  std::string got;
  CHECK(short_body.feed(std::string(500, 'x'), got));
  CHECK(short_body.end_of_stream() == "body truncated: got 500 of 1000 bytes");

  HttpBodyDecoder empty(head_with(200, 0, false));
  CHECK(empty.complete());
}

TEST_CASE("chunked and close-delimited bodies end of stream", "[http_body]") {
  HttpBodyDecoder chunked(head_with(200, std::nullopt, true));
  CHECK_FALSE(chunked.expected_bytes());
  std::string out;
  CHECK(chunked.feed("3\r\nabc\r\n", out));
  CHECK_FALSE(chunked.complete());
  CHECK(chunked.end_of_stream() == "chunked body truncated after 3 bytes");

  HttpBodyDecoder bad(head_with(200, std::nullopt, true));
  CHECK_FALSE(bad.feed("zz\r\n", out));
  CHECK(bad.error() == "bad chunked body: bad chunk size");
  CHECK(bad.end_of_stream() == "bad chunked body: bad chunk size");

  HttpBodyDecoder whole(head_with(200, std::nullopt, true));
  std::string body;
  CHECK(whole.feed("3\r\nabc\r\n0\r\n\r\ntrailing junk", body));
  CHECK(whole.complete());
  CHECK(body == "abc");
  CHECK(whole.body_bytes() == 3);

  HttpBodyDecoder until_close(head_with(200, std::nullopt, false));
  std::string all;
  CHECK(until_close.feed("any bytes", all));
  CHECK_FALSE(until_close.complete());
  CHECK(until_close.end_of_stream().empty());
  CHECK(all == "any bytes");
}
