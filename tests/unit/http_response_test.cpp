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
  // The fragment is the browser's business: never sent.
  auto u = url_of("http://example.com/path/to?q=1#f");
  CHECK(u.host == "example.com");
  CHECK(u.port == 80);
  CHECK(u.path == "/path/to?q=1");

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

TEST_CASE("URLs: queries without a path, fragments, encoding", "[http_response]") {
  auto q = url_of("http://example.com?x=1");
  CHECK(q.host == "example.com");
  CHECK(q.path == "/?x=1");
  auto qp = url_of("http://example.com:81?x=1#frag");
  CHECK(qp.port == 81);
  CHECK(qp.path == "/?x=1");
  auto frag = url_of("http://example.com#top");
  CHECK(frag.host == "example.com");
  CHECK(frag.path == "/");
  CHECK(url_of("http://h/a#b/c?d").path == "/a");
  // Spaces and non-ASCII bytes are percent-encoded; '%' is left as written.
  CHECK(url_of("http://h/a b/\xc3\xa9?q=x y").path == "/a%20b/%C3%A9?q=x%20y");
  CHECK(url_of("http://h/100%25").path == "/100%25");
  // Control bytes could inject header lines: refused.
  CHECK(url_error("http://h/a\r\nX-Injected: 1").find("bad character in URL path") == 0);
  CHECK(url_error(std::string("http://h/a\0b", 12)).find("bad character") == 0);
  CHECK(url_error("http://h/\x7f").find("bad character") == 0);
  CHECK(url_error("http://h/\t").find("bad character") == 0);
}

TEST_CASE("format URLs", "[http_response]") {
  CHECK(format_http_url(url_of("http://example.com")) == "http://example.com/");
  CHECK(format_http_url(url_of("http://example.com:80/a?b")) == "http://example.com/a?b");
  CHECK(format_http_url(url_of("http://example.com:8080/a")) == "http://example.com:8080/a");
  CHECK(format_http_url(url_of("http://[::1]/x")) == "http://[::1]/x");
  CHECK(format_http_url(url_of("http://[::1]:81/x")) == "http://[::1]:81/x");
}

TEST_CASE("the Location header is kept", "[http_response]") {
  auto h = head_of("HTTP/1.1 302 Found\r\nlocation:  /next?a=1  \r\nContent-Length: 0\r\n\r\n");
  REQUIRE(h.location);
  CHECK(*h.location == "/next?a=1");
  CHECK_FALSE(head_of("HTTP/1.1 200 OK\r\n\r\n").location);
}

TEST_CASE("redirect statuses", "[http_response]") {
  for (int s : {301, 302, 303, 307, 308}) CHECK(is_redirect_status(s));
  for (int s : {200, 300, 304, 305, 306, 309, 404}) CHECK_FALSE(is_redirect_status(s));
}

namespace {

std::string resolved(const std::string& base, const std::string& location) {
  std::string error;
  auto url = resolve_location(url_of(base), location, error);
  INFO("base " << base << " location " << location << " error: " << error);
  REQUIRE(url);
  return format_http_url(*url);
}

std::string resolve_error(const std::string& base, const std::string& location) {
  std::string error;
  auto url = resolve_location(url_of(base), location, error);
  INFO("base " << base << " location " << location);
  CHECK_FALSE(url);
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("resolve Locations: RFC 3986 section 5.4 examples", "[http_response]") {
  // The RFC's base is http://a/b/c/d;p?q; its normal and abnormal examples.
  const std::string base = "http://a/b/c/d;p?q";
  CHECK(resolved(base, "g") == "http://a/b/c/g");
  CHECK(resolved(base, "./g") == "http://a/b/c/g");
  CHECK(resolved(base, "g/") == "http://a/b/c/g/");
  CHECK(resolved(base, "/g") == "http://a/g");
  CHECK(resolved(base, "//g") == "http://g/");
  CHECK(resolved(base, "?y") == "http://a/b/c/d;p?y");
  CHECK(resolved(base, "g?y") == "http://a/b/c/g?y");
  CHECK(resolved(base, "#s") == "http://a/b/c/d;p?q");
  CHECK(resolved(base, "g#s") == "http://a/b/c/g");
  CHECK(resolved(base, "g?y#s") == "http://a/b/c/g?y");
  CHECK(resolved(base, ";x") == "http://a/b/c/;x");
  CHECK(resolved(base, "g;x") == "http://a/b/c/g;x");
  CHECK(resolved(base, ".") == "http://a/b/c/");
  CHECK(resolved(base, "./") == "http://a/b/c/");
  CHECK(resolved(base, "..") == "http://a/b/");
  CHECK(resolved(base, "../") == "http://a/b/");
  CHECK(resolved(base, "../g") == "http://a/b/g");
  CHECK(resolved(base, "../..") == "http://a/");
  CHECK(resolved(base, "../../") == "http://a/");
  CHECK(resolved(base, "../../g") == "http://a/g");
  CHECK(resolved(base, "../../../g") == "http://a/g");
  CHECK(resolved(base, "../../../../g") == "http://a/g");
  CHECK(resolved(base, "/./g") == "http://a/g");
  CHECK(resolved(base, "/../g") == "http://a/g");
  CHECK(resolved(base, "g.") == "http://a/b/c/g.");
  CHECK(resolved(base, ".g") == "http://a/b/c/.g");
  CHECK(resolved(base, "g..") == "http://a/b/c/g..");
  CHECK(resolved(base, "..g") == "http://a/b/c/..g");
  CHECK(resolved(base, "./../g") == "http://a/b/g");
  CHECK(resolved(base, "./g/.") == "http://a/b/c/g/");
  CHECK(resolved(base, "g/./h") == "http://a/b/c/g/h");
  CHECK(resolved(base, "g/../h") == "http://a/b/c/h");
  CHECK(resolved(base, "g;x=1/./y") == "http://a/b/c/g;x=1/y");
  CHECK(resolved(base, "g;x=1/../y") == "http://a/b/c/y");
  CHECK(resolved(base, "g?y/./x") == "http://a/b/c/g?y/./x");
  CHECK(resolved(base, "g?y/../x") == "http://a/b/c/g?y/../x");
  // "http:g" is an http URL without an authority: nothing to connect to.
  CHECK(resolve_error(base, "http:g").find("only http://") == 0);
}

TEST_CASE("resolve Locations: ports, schemes, odd values", "[http_response]") {
  const std::string base = "http://127.0.0.1:8080/dir/page?x=1";
  CHECK(resolved(base, "http://example.com/x") == "http://example.com/x");
  CHECK(resolved(base, "HTTP://Example.com:81") == "http://Example.com:81/");
  CHECK(resolved(base, "//other:9/y") == "http://other:9/y");
  CHECK(resolved(base, "/final") == "http://127.0.0.1:8080/final");
  CHECK(resolved(base, "next") == "http://127.0.0.1:8080/dir/next");
  CHECK(resolved(base, "  /spaced  ") == "http://127.0.0.1:8080/spaced");
  CHECK(resolved(base, "/a b") == "http://127.0.0.1:8080/a%20b");
  CHECK(resolved("http://[::1]:81/a/b", "../c") == "http://[::1]:81/c");
  CHECK(resolved("http://h/", "x") == "http://h/x");
  // An empty Location would only point back at the same URL.
  CHECK(resolve_error("http://h/?q", " ") == "empty Location");

  CHECK(resolve_error(base, "https://example.com/") ==
        "refusing to follow a redirect to a non-http URL: https://example.com/");
  CHECK(resolve_error(base, "ftp://example.com/").find("non-http URL") != std::string::npos);
  CHECK(resolve_error(base, "mailto:a@b").find("non-http URL") != std::string::npos);
  CHECK(resolve_error(base, "javascript:alert(1)").find("non-http URL") != std::string::npos);
  CHECK(resolve_error(base, "/a\r\nX: y").find("bad character") == 0);
  CHECK(resolve_error(base, "http://bad host/").find("bad host name") == 0);
  CHECK(resolve_error(base, "http://h:0/").find("bad port") == 0);
  CHECK(resolve_error(base, "//[::1/").find("missing ']'") == 0);
}
