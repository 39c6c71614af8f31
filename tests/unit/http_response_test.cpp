#include "client/http_response.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace tpdp;

namespace {

HttpResponseHead head_of(std::string_view data) {
  std::string error;
  auto h = parse_http_response_head(data, error);
  INFO("response: " << data << "\nerror: " << error);
  REQUIRE(h);
  CHECK(error.empty());
  return *h;
}

std::string head_error(std::string_view data) {
  std::string error = "stale";
  auto h = parse_http_response_head(data, error);
  INFO("response: " << data);
  CHECK_FALSE(h);
  CHECK_FALSE(error.empty());
  return error;
}

bool needs_more_head(std::string_view data) {
  std::string error = "stale";
  auto h = parse_http_response_head(data, error);
  return !h && error.empty();
}

HttpUrl url_of(std::string_view text) {
  std::string error;
  auto u = parse_http_url(text, error);
  INFO("url: " << text << " error: " << error);
  REQUIRE(u);
  return *u;
}

std::string url_error(std::string_view text) {
  std::string error;
  auto u = parse_http_url(text, error);
  INFO("url: " << text);
  CHECK_FALSE(u);
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("parse a response head", "[http_response]") {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n";
  auto h = head_of(head + "hello");
  CHECK(h.status == 200);
  CHECK(h.reason == "OK");
  REQUIRE(h.content_length);
  CHECK(*h.content_length == 5);
  CHECK_FALSE(h.chunked);
  CHECK(h.head_size == head.size());

  auto nf = head_of("HTTP/1.0 404 Not Found\r\n\r\n");
  CHECK(nf.status == 404);
  CHECK(nf.reason == "Not Found");
  CHECK_FALSE(nf.content_length);
  CHECK(nf.head_size == 26);

  auto bare = head_of("HTTP/1.1 204\r\n\r\n");
  CHECK(bare.status == 204);
  CHECK(bare.reason.empty());

  auto spaced = head_of("HTTP/1.1 301   Moved  \r\nLocation: /x\r\n\r\n");
  CHECK(spaced.status == 301);
  CHECK(spaced.reason == "Moved");

  CHECK(head_of("HTTP/1.1 100 Continue\r\n\r\n").status == 100);
  CHECK(head_of("HTTP/1.1 999 Odd\r\n\r\n").status == 999);
}

TEST_CASE("every strict prefix of a head needs more bytes", "[http_response]") {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\n";
  for (std::size_t n = 0; n < head.size(); ++n) {
    INFO("prefix " << n);
    CHECK(needs_more_head(std::string_view(head).substr(0, n)));
  }
  CHECK(head_of(head).head_size == head.size());
  // Even an obviously wrong start waits for the blank line.
  CHECK(needs_more_head("SSH-2.0-OpenSSH\r\n"));
}

TEST_CASE("a head over 64 KiB without an end is refused", "[http_response]") {
  std::string big = "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(64 * 1024, 'x');
  CHECK(head_error(big) == "response head longer than 64 KiB");
  CHECK(needs_more_head(big.substr(0, 64 * 1024)));
}

TEST_CASE("malformed status lines", "[http_response]") {
  CHECK(head_error("FTP/1.1 200 OK\r\n\r\n") == "not an HTTP response");
  CHECK(head_error("HTTP/1.1 20\r\n\r\n") == "not an HTTP response");
  CHECK(head_error("HTTP/1.10 200 OK\r\n\r\n") == "not an HTTP response");
  CHECK(head_error("http/1.1 200 OK\r\n\r\n") == "not an HTTP response");
  CHECK(head_error("\r\n\r\n") == "not an HTTP response");
  CHECK(head_error("HTTP/1.1 2x0 OK\r\n\r\n") == "bad HTTP status line");
  CHECK(head_error("HTTP/1.1 099 Low\r\n\r\n") == "bad HTTP status line");
  CHECK(head_error("HTTP/1.1 -20 OK\r\n\r\n") == "bad HTTP status line");
  CHECK(head_error("HTTP/1.1  200 OK\r\n\r\n") == "bad HTTP status line");
}

TEST_CASE("Content-Length", "[http_response]") {
  auto h = head_of("HTTP/1.1 200 OK\r\ncontent-LENGTH:   42  \r\n\r\n");
  REQUIRE(h.content_length);
  CHECK(*h.content_length == 42);
  auto zero = head_of("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(zero.content_length);
  CHECK(*zero.content_length == 0);
  auto max = head_of("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n");
  REQUIRE(max.content_length);
  CHECK(*max.content_length == 18446744073709551615ULL);
  for (auto value : {"", "abc", "-1", "+1", "5 5", "0x10", "18446744073709551616"}) {
    INFO("value '" << value << "'");
    CHECK(head_error(std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + value + "\r\n\r\n") ==
          "bad Content-Length");
  }
  // Lines without a colon are skipped; other headers ignored.
  auto odd = head_of("HTTP/1.1 200 OK\r\nno colon here\r\nX-Length: 9\r\n\r\n");
  CHECK_FALSE(odd.content_length);
}

TEST_CASE("chunked transfer encoding", "[http_response]") {
  CHECK(head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").chunked);
  CHECK(head_of("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, CHUNKED\r\n\r\n").chunked);
  CHECK_FALSE(head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").chunked);
  CHECK_FALSE(head_of("HTTP/1.1 200 OK\r\nX-Note: chunked\r\n\r\n").chunked);
  auto both = head_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
  CHECK(both.chunked);
  CHECK(both.content_length == std::optional<std::uint64_t>(3));
}

TEST_CASE("parse http URLs", "[http_response]") {
  auto u = url_of("http://example.com/path/to?q=1#f");
  CHECK(u.host == "example.com");
  CHECK(u.port == 80);
  CHECK(u.path == "/path/to?q=1#f");

  auto no_path = url_of("http://example.com");
  CHECK(no_path.host == "example.com");
  CHECK(no_path.port == 80);
  CHECK(no_path.path == "/");

  auto port = url_of("http://example.com:8080/");
  CHECK(port.port == 8080);
  CHECK(port.path == "/");

  auto upper = url_of("HTTP://Example.COM:1");
  CHECK(upper.host == "Example.COM");
  CHECK(upper.port == 1);
  CHECK(upper.path == "/");

  auto v4 = url_of("http://127.0.0.1:65535/x");
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 65535);
  CHECK(v4.path == "/x");

  auto v6 = url_of("http://[::1]:8080/index.html");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 8080);
  CHECK(v6.path == "/index.html");

  auto v6_default = url_of("http://[2001:db8::1]/");
  CHECK(v6_default.host == "2001:db8::1");
  CHECK(v6_default.port == 80);

  auto v6_bare = url_of("http://[::1]");
  CHECK(v6_bare.host == "::1");
  CHECK(v6_bare.port == 80);
  CHECK(v6_bare.path == "/");
}

TEST_CASE("bad http URLs", "[http_response]") {
  CHECK(url_error("https://example.com/") ==
        "only http:// URLs are supported: 'https://example.com/'");
  CHECK(url_error("example.com").find("only http://") == 0);
  CHECK(url_error("ftp://example.com/").find("only http://") == 0);
  CHECK(url_error("").find("only http://") == 0);
  url_error("http://");
  url_error("http:///path");
  CHECK(url_error("http://example.com:0/").find("bad port") == 0);
  CHECK(url_error("http://example.com:65536/").find("bad port") == 0);
  CHECK(url_error("http://example.com:/").find("bad port") == 0);
  CHECK(url_error("http://example.com:http/").find("bad port") == 0);
  CHECK(url_error("http://exa mple.com/").find("bad host name") == 0);
  CHECK(url_error("http://user@example.com/").find("bad host name") == 0);
  CHECK(url_error("http://::1/").find("IPv6 addresses need brackets") == 0);
  CHECK(url_error("http://[::1/").find("missing ']'") == 0);
  CHECK(url_error("http://[::1]x/").find("missing port") == 0);
  CHECK(url_error("http://[example.com]/").find("bad IPv6 address") == 0);
}
