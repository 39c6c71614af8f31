#include "client/http_body.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tpdp;

namespace {

HttpResponseHead head_with(int status, std::optional<std::uint64_t> length, bool chunked) {
  HttpResponseHead h;
  h.status = status;
  h.content_length = length;
  h.chunked = chunked;
  return h;
}

}  // namespace

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
  CHECK(bad.error() == "bad chunked body: malformed chunk size");
  CHECK(bad.end_of_stream() == "bad chunked body: malformed chunk size");

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
