// tpdp-http-proxy's HTTP parsing (examples/http_proxy): the byte-fed head
// parser, request and response interpretation, and chunked bodies.
#include <catch2/catch.hpp>

#include <string>

#include "examples/http_proxy/http_body.hpp"
#include "examples/http_proxy/http_head.hpp"
#include "examples/http_proxy/proxy_request.hpp"
#include "examples/http_proxy/proxy_response.hpp"

using namespace tpdp;
using namespace tpdp::http;

namespace {

struct Parsed {
  HeadParser::State state;
  std::size_t consumed = 0;
  Head head;
  Problem problem;
};

Parsed parse(std::string_view bytes, HeadParser::Kind kind = HeadParser::Kind::request) {
  HeadParser parser(kind);
  Parsed out;
  out.state = parser.feed(bytes, out.consumed);
  out.head = parser.head();
  out.problem = parser.problem();
  return out;
}

// Feeds one byte at a time; returns the bytes consumed in all.
Parsed parse_bytewise(std::string_view bytes) {
  HeadParser parser(HeadParser::Kind::request);
  Parsed out;
  out.state = HeadParser::State::need_more;
  for (std::size_t i = 0; i < bytes.size() && out.state == HeadParser::State::need_more; ++i) {
    std::size_t used = 0;
    out.state = parser.feed(bytes.substr(i, 1), used);
    out.consumed += used;
  }
  out.head = parser.head();
  out.problem = parser.problem();
  return out;
}

int head_status(std::string_view bytes) {
  auto p = parse(bytes);
  INFO("head: " << bytes);
  REQUIRE(p.state == HeadParser::State::error);
  return p.problem.status;
}

ProxyRequest request_of(std::string_view bytes) {
  auto p = parse(bytes);
  INFO("head: " << bytes << "\nproblem: " << p.problem.message);
  REQUIRE(p.state == HeadParser::State::complete);
  auto r = interpret_request(p.head);
  if (auto* problem = std::get_if<Problem>(&r)) FAIL("refused: " << problem->message);
  return std::get<ProxyRequest>(r);
}

Problem refusal_of(std::string_view bytes) {
  auto p = parse(bytes);
  INFO("head: " << bytes << "\nproblem: " << p.problem.message);
  REQUIRE(p.state == HeadParser::State::complete);
  auto r = interpret_request(p.head);
  REQUIRE(std::holds_alternative<Problem>(r));
  return std::get<Problem>(r);
}

std::string get(std::string_view target, std::string_view fields = "Host: x\r\n") {
  return "GET " + std::string(target) + " HTTP/1.1\r\n" + std::string(fields) + "\r\n";
}

std::variant<ProxyResponse, Problem> response_of(std::string_view bytes,
                                                 std::string_view method = "GET") {
  auto p = parse(bytes, HeadParser::Kind::response);
  INFO("head: " << bytes << "\nproblem: " << p.problem.message);
  REQUIRE(p.state == HeadParser::State::complete);
  return interpret_response(p.head, method);
}

}  // namespace

TEST_CASE("http proxy parser: every method, forwarded in origin form") {
  for (std::string method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
                             "PROPFIND", "M-SEARCH", "get"}) {
    INFO(method);
    auto r = request_of(method + " http://example.org:8080/a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r.method == method);
    CHECK(r.form == TargetForm::absolute);
    CHECK(r.destination == HostPort{"example.org", 8080});
    CHECK(r.origin_target == "/a/b?c=d");
    CHECK(r.host_field == "example.org:8080");
    CHECK(destination_head(r).rfind(method + " /a/b?c=d HTTP/1.1\r\nHost: example.org:8080\r\n",
                                    0) == 0);
  }
  auto c = request_of("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
  CHECK(c.is_connect());
  CHECK(c.destination == HostPort{"example.org", 443});
  CHECK_FALSE(c.keep_alive);

  CHECK(head_status("GE(T http://x/ HTTP/1.1\r\n\r\n") == 400);
  CHECK(head_status("GET  http://x/ HTTP/1.1\r\n\r\n") == 400);  // two spaces
  CHECK(head_status("GET http://x/\r\n\r\n") == 400);            // HTTP/0.9
  CHECK(head_status("GET http://x/ HTTP/1.1 extra\r\n\r\n") == 400);
  CHECK(head_status("GET http://x/\x01 HTTP/1.1\r\n\r\n") == 400);
}

TEST_CASE("http proxy parser: absolute, origin, authority and asterisk forms") {
  CHECK(target_form("GET", "http://x/") == TargetForm::absolute);
  CHECK(target_form("GET", "/index.html") == TargetForm::origin);
  CHECK(target_form("CONNECT", "x:443") == TargetForm::authority);
  CHECK(target_form("OPTIONS", "*") == TargetForm::asterisk);

  auto plain = request_of(get("http://example.org"));
  CHECK(plain.destination == HostPort{"example.org", 80});
  CHECK(plain.origin_target == "/");
  CHECK(plain.host_field == "example.org");  // no ":80"
  CHECK(request_of(get("HTTP://Example.org:/x")).destination.port == 80);
  CHECK(request_of(get("http://example.org?q=1")).origin_target == "/?q=1");
  CHECK(request_of(get("http://example.org/p#frag")).origin_target == "/p");
  CHECK(request_of("OPTIONS http://example.org HTTP/1.1\r\nHost: x\r\n\r\n").origin_target == "*");
  auto v6 = request_of(get("http://[::1]:8080/x"));
  CHECK(v6.destination == HostPort{"::1", 8080});
  CHECK(v6.host_field == "[::1]:8080");
  CHECK(request_of(get("http://[::1]/")).host_field == "[::1]");
  auto v4 = request_of(get("http://127.0.0.1:45100/file"));
  CHECK(v4.destination == HostPort{"127.0.0.1", 45100});

  // What this proxy refuses, all 400.
  for (std::string target :
       {"/index.html", "*", "example.org:80", "https://example.org/", "ftp://example.org/",
        "http://user@example.org/", "http:///x", "http://example.org:0/",
        "http://example.org:65536/", "http://example.org:8a/", "http://exa mple.org/",
        "http://[::1/", "http://[nothost]/", "http://bad_host!/"}) {
    INFO(target);
    if (target.find(' ') != std::string::npos) {
      CHECK(head_status(get(target)) == 400);
    } else {
      CHECK(refusal_of(get(target)).status == 400);
    }
  }
  CHECK(refusal_of(get("https://example.org/")).message.find("CONNECT") != std::string::npos);
  CHECK(refusal_of(get("/index.html")).message.find("proxy") != std::string::npos);
  // CONNECT needs HOST:PORT.
  CHECK(refusal_of("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(refusal_of("CONNECT example.org HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(refusal_of("CONNECT http://example.org/ HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(refusal_of("CONNECT x:443 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n").status == 400);
  CHECK(request_of("CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n").destination ==
        HostPort{"::1", 443});
}

TEST_CASE("http proxy parser: versions, Host and keep-alive") {
  CHECK(head_status("GET http://x/ HTTP/2.0\r\n\r\n") == 505);
  CHECK(head_status("GET http://x/ HTTP/1\r\n\r\n") == 400);
  CHECK(head_status("GET http://x/ http/1.1\r\n\r\n") == 400);
  CHECK(request_of("GET http://x/ HTTP/1.2\r\nHost: x\r\n\r\n").version_minor == 1);

  CHECK(refusal_of("GET http://x/ HTTP/1.1\r\n\r\n").status == 400);  // no Host
  CHECK(refusal_of("GET http://x/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400);
  auto old = request_of("GET http://x/ HTTP/1.0\r\n\r\n");
  CHECK(old.version_minor == 0);
  CHECK_FALSE(old.keep_alive);
  CHECK(request_of("GET http://x/ HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  CHECK(request_of(get("http://x/")).keep_alive);
  CHECK_FALSE(request_of(get("http://x/", "Host: x\r\nConnection: close\r\n")).keep_alive);
  CHECK_FALSE(request_of(get("http://x/", "Host: x\r\nConnection: foo, Close\r\n")).keep_alive);

  // The Host sent is the URL's authority, not the client's.
  auto r = request_of(get("http://real.example/", "Host: other.example\r\n"));
  CHECK(destination_head(r) == "GET / HTTP/1.1\r\nHost: real.example\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http proxy parser: field lines, folding and control characters") {
  CHECK(head_status(get("http://x/", "Host: x\r\nX-A: 1\r\n  continued\r\n")) == 400);
  CHECK(head_status(get("http://x/", "Host: x\r\nX-A: 1\r\n\tcontinued\r\n")) == 400);
  CHECK(parse(get("http://x/", "Host: x\r\nX-A: 1\r\n  continued\r\n"))
            .problem.message.find("folding") != std::string::npos);
  CHECK(head_status(get("http://x/", "Host : x\r\n")) == 400);  // space before the colon
  CHECK(head_status(get("http://x/", "Host x\r\n")) == 400);
  CHECK(head_status(get("http://x/", ": x\r\n")) == 400);
  CHECK(head_status(get("http://x/", std::string("X-A: a\0b\r\n", 10))) == 400);
  CHECK(head_status(get("http://x/", "X-A: a\rb\r\n")) == 400);  // bare CR
  CHECK(head_status(" GET http://x/ HTTP/1.1\r\n\r\n") == 400);

  // Whitespace around values is not part of them; bare LF ends lines too.
  auto p = parse("GET http://x/ HTTP/1.1\nHost: x\nX-A: \t spaced value \t\n\n");
  REQUIRE(p.state == HeadParser::State::complete);
  REQUIRE(p.head.fields.size() == 2);
  CHECK(p.head.fields[1].name == "X-A");
  CHECK(p.head.fields[1].value == "spaced value");
  // Blank lines before the request line are skipped (RFC 9112 2.2), a few.
  CHECK(parse("\r\n\r\n" + get("http://x/")).state == HeadParser::State::complete);
  CHECK(head_status(std::string(20, '\n') + get("http://x/")) == 400);
}

TEST_CASE("http proxy parser: heads over 64 KiB are refused with 431") {
  std::string big(kMaxHeadSize, 'a');
  CHECK(head_status(get("http://x/", "Host: x\r\nX-Big: " + big + "\r\n")) == 431);
  CHECK(head_status("GET http://x/" + big + " HTTP/1.1\r\n\r\n") == 431);
  // Without a line end at all: refused as soon as the limit is passed, not buffered on.
  HeadParser parser(HeadParser::Kind::request);
  std::size_t used = 0;
  std::string chunk(1000, 'a');
  HeadParser::State state = HeadParser::State::need_more;
  std::size_t fed = 0;
  while (state == HeadParser::State::need_more && fed < 2 * kMaxHeadSize) {
    state = parser.feed(chunk, used);
    fed += chunk.size();
  }
  CHECK(state == HeadParser::State::error);
  CHECK(parser.problem().status == 431);
  CHECK(fed <= kMaxHeadSize + chunk.size());

  // Just under the limit is fine.
  std::string head = get("http://x/", "Host: x\r\n");
  std::string filler(kMaxHeadSize - head.size() - 5, 'b');
  std::string exact = get("http://x/", "Host: x\r\nX: " + filler + "\r\n");
  CHECK(exact.size() == kMaxHeadSize);
  CHECK(parse(exact).state == HeadParser::State::complete);

  std::string many = "Host: x\r\n";
  for (std::size_t i = 0; i < kMaxFields; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  CHECK(head_status(get("http://x/", many)) == 431);
}

TEST_CASE("http proxy parser: fed byte by byte, it stops at the end of the head") {
  std::string head =
      "POST http://example.org/upload HTTP/1.1\r\nHost: example.org\r\nContent-Length: 5\r\n"
      "X-Empty:\r\n\r\n";
  std::string bytes = head + "hello" + "GET http://next/ HTTP/1.1\r\n\r\n";
  auto whole = parse(bytes);
  auto bytewise = parse_bytewise(bytes);
  REQUIRE(whole.state == HeadParser::State::complete);
  REQUIRE(bytewise.state == HeadParser::State::complete);
  CHECK(whole.consumed == head.size());
  CHECK(bytewise.consumed == head.size());
  CHECK(whole.head.fields.size() == 3);
  CHECK(bytewise.head.fields.size() == 3);
  CHECK(bytewise.head.fields[2].value.empty());
  CHECK(whole.head.target == bytewise.head.target);
  // Need more until the blank line.
  CHECK(parse(head.substr(0, head.size() - 1)).state == HeadParser::State::need_more);
  HeadParser fresh(HeadParser::Kind::request);
  CHECK(fresh.idle());
}

TEST_CASE("http proxy parser: Content-Length and Transfer-Encoding") {
  auto with = [](std::string fields) {
    return "POST http://x/ HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n";
  };
  CHECK(request_of(with("Content-Length: 5\r\n")).body == BodyFraming{BodyFraming::length, 5});
  CHECK(request_of(with("Content-Length: 5, 5\r\nContent-Length: 5\r\n")).body ==
        BodyFraming{BodyFraming::length, 5});
  CHECK(request_of(with("Content-Length: 0\r\n")).body == BodyFraming{BodyFraming::length, 0});
  CHECK(request_of(with("")).body == BodyFraming{});
  CHECK(request_of(with("Transfer-Encoding: Chunked\r\n")).body ==
        BodyFraming{BodyFraming::chunked});
  for (std::string bad :
       {"Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length: 5, 6\r\n",
        "Content-Length: abc\r\n", "Content-Length: -1\r\n", "Content-Length: +5\r\n",
        "Content-Length: 0x10\r\n", "Content-Length:\r\n",
        "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n",
        "Transfer-Encoding: chunked, gzip\r\n", "Transfer-Encoding:\r\n"}) {
    INFO(bad);
    CHECK(refusal_of(with(bad)).status == 400);
  }
  CHECK(refusal_of(with("Transfer-Encoding: gzip, chunked\r\n")).status == 501);
  CHECK(refusal_of("POST http://x/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").status == 400);
  CHECK(
      refusal_of(with("Content-Length: 5\r\nContent-Length: 6\r\n")).message.find("conflicting") !=
      std::string::npos);

  // Forwarded with the framing the proxy sends: the same length, or chunked.
  CHECK(destination_head(request_of(with("Content-Length: 5, 5\r\n"))) ==
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
  CHECK(destination_head(request_of(with("Transfer-Encoding: chunked\r\n"))) ==
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http proxy parser: hop-by-hop fields are not forwarded") {
  auto r = request_of(get("http://x/",
                          "Host: x\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: 5\r\n"
                          "Proxy-Connection: Keep-Alive\r\nProxy-Authorization: Basic eA==\r\n"
                          "TE: trailers\r\nTrailer: X-T\r\nUpgrade: websocket\r\n"
                          "X-Private: secret\r\nAccept: */*\r\nUser-Agent: curl\r\n"));
  CHECK(
      destination_head(r) ==
      "GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nUser-Agent: curl\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http proxy parser: Content-Length bodies stop at their length") {
  BodyDecoder decoder(BodyFraming{BodyFraming::length, 5});
  std::string data;
  std::size_t used = 0;
  CHECK(decoder.feed("hel", used, data) == BodyDecoder::Result::need_more);
  CHECK(used == 3);
  CHECK(decoder.feed("loGET", used, data) == BodyDecoder::Result::done);
  CHECK(used == 2);
  CHECK(data == "hello");
  CHECK(decoder.done());
  CHECK(decoder.content_bytes() == 5);
  CHECK(BodyDecoder(BodyFraming{}).done());
  BodyDecoder until_close(BodyFraming{BodyFraming::until_close});
  CHECK(until_close.feed("abc", used, data) == BodyDecoder::Result::need_more);
  CHECK_FALSE(until_close.done());
}

TEST_CASE("http proxy parser: response heads and how their bodies end") {
  auto ok = [](std::variant<ProxyResponse, Problem> v) {
    if (auto* p = std::get_if<Problem>(&v)) FAIL("refused: " << p->message);
    return std::get<ProxyResponse>(v);
  };
  auto length = ok(response_of("HTTP/1.0 200 OK\r\nContent-Length: 10\r\nServer: t\r\n\r\n"));
  CHECK(length.body == BodyFraming{BodyFraming::length, 10});
  CHECK(client_head(length, 1, true) ==
        "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 10\r\n\r\n");
  CHECK(client_head(length, 0, true) ==
        "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n");

  auto chunked =
      ok(response_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                     "3\r\nConnection: close\r\n\r\n"));
  CHECK(chunked.body.kind == BodyFraming::chunked);
  CHECK(rechunk_for(chunked, 1));
  CHECK_FALSE(body_ends_with_close(chunked, 1));
  CHECK(client_head(chunked, 1, true) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  // An HTTP/1.0 client gets the content, delimited by the close.
  CHECK_FALSE(rechunk_for(chunked, 0));
  CHECK(body_ends_with_close(chunked, 0));
  CHECK(client_head(chunked, 0, false) == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");

  auto to_close = ok(response_of("HTTP/1.1 200 OK\r\n\r\n"));
  CHECK(to_close.body.kind == BodyFraming::until_close);
  CHECK(body_ends_with_close(to_close, 1));
  auto gzip = ok(response_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"));
  CHECK(gzip.body.kind == BodyFraming::until_close);
  CHECK(client_head(gzip, 1, false) ==
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n");

  // No body: HEAD, 1xx, 204, 304; HEAD and 304 keep the length they announce.
  auto head = ok(response_of("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", "HEAD"));
  CHECK(head.body.kind == BodyFraming::none);
  CHECK(client_head(head, 1, true) == "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
  CHECK(ok(response_of("HTTP/1.1 204 No Content\r\n\r\n")).body.kind == BodyFraming::none);
  CHECK(
      ok(response_of("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n")).announced_length ==
      7u);
  auto cont = ok(response_of("HTTP/1.1 100 Continue\r\n\r\n"));
  CHECK(cont.informational());
  CHECK(client_head(cont, 1, true) == "HTTP/1.1 100 Continue\r\n\r\n");

  // The destination's faults: 502.
  for (std::string bad : {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"}) {
    INFO(bad);
    auto r = response_of(bad);
    REQUIRE(std::holds_alternative<Problem>(r));
    CHECK(std::get<Problem>(r).status == 502);
  }
}

TEST_CASE("http proxy parser: heads at the limits are refused, not forwarded broken") {
  // Found by fuzzing: 256 upstream fields plus the proxy's Connection field
  // made a head that no parser with the same limit accepts.
  auto with_fields = [](std::size_t n) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (std::size_t i = 0; i < n; ++i) head += "X-" + std::to_string(i) + ": 1\r\n";
    return head + "\r\n";
  };
  auto full = response_of(with_fields(kMaxFields));
  REQUIRE(std::holds_alternative<Problem>(full));
  CHECK(std::get<Problem>(full).status == 502);
  CHECK(std::get<Problem>(full).message.find("too large to forward") != std::string::npos);
  auto fits = response_of(with_fields(kMaxFields - 2));
  REQUIRE(std::holds_alternative<ProxyResponse>(fits));
  for (int minor : {0, 1}) {
    std::string out = client_head(std::get<ProxyResponse>(fits), minor, false);
    auto again = parse(out, HeadParser::Kind::response);
    CHECK(again.state == HeadParser::State::complete);
  }
  // The same for requests: the proxy adds Host, framing and Connection.
  auto request_with = [](std::size_t n) {
    std::string head = "GET http://x/ HTTP/1.1\r\nHost: x\r\n";
    for (std::size_t i = 1; i < n; ++i) head += "X-" + std::to_string(i) + ": 1\r\n";
    return head + "\r\n";
  };
  auto refused = refusal_of(request_with(kMaxFields));
  CHECK(refused.status == 431);
  CHECK(refused.message.find("too large to forward") != std::string::npos);
  auto forwarded = destination_head(request_of(request_with(kMaxFields - 3)));
  CHECK(parse(forwarded).state == HeadParser::State::complete);
}

TEST_CASE("http proxy parser: status lines") {
  auto status_of = [](std::string_view line) {
    return parse(std::string(line) + "\r\n\r\n", HeadParser::Kind::response);
  };
  CHECK(status_of("HTTP/1.1 200 OK").head.status == 200);
  CHECK(status_of("HTTP/1.1 404 Not Found").head.reason == "Not Found");
  CHECK(status_of("HTTP/1.1 200").state == HeadParser::State::complete);  // no reason
  CHECK(status_of("HTTP/1.1 200 ").head.reason.empty());
  CHECK(status_of("HTTP/1.0 500 Oops").head.version_minor == 0);
  for (std::string bad : {"HTTP/1.1 20", "HTTP/1.1 2000 OK", "HTTP/1.1 099 Low", "ICY 200 OK",
                          "HTTP/1.1  200 OK", "HTTP/1.1 200 \x01", "HTTP/2 200 OK", ""}) {
    INFO(bad);
    CHECK(status_of(bad).state == HeadParser::State::error);
  }
}
