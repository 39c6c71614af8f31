// Fuzzes tpdp-http-proxy's HTTP parsing (examples/http_proxy): the byte-fed
// head parser, request and response interpretation, and chunked bodies.
// Answers must not depend on how the bytes are split, what the proxy
// forwards must parse back to what it meant, and nothing grows unbounded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "examples/http_proxy/http_body.hpp"
#include "examples/http_proxy/http_head.hpp"
#include "examples/http_proxy/proxy_request.hpp"
#include "examples/http_proxy/proxy_response.hpp"
#include "protocol/host.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::http;
using namespace tpdp::fuzz;

namespace {

struct HeadRun {
  HeadParser::State state = HeadParser::State::need_more;
  std::size_t consumed = 0;
  Head head;
  Problem problem;
};

// Feeds `text` in pieces cut at `cuts` (ascending), then the rest.
HeadRun run_head(std::string_view text, HeadParser::Kind kind,
                 const std::vector<std::size_t>& cuts) {
  HeadParser parser(kind);
  HeadRun run;
  std::size_t start = 0;
  auto feed = [&](std::size_t end) {
    if (run.state != HeadParser::State::need_more || end <= start) return;
    std::size_t used = 0;
    run.state = parser.feed(text.substr(start, end - start), used);
    check(used <= end - start);
    // The parser takes everything it is given until the head ends.
    if (run.state == HeadParser::State::need_more) check(used == end - start);
    start += used;
    run.consumed += used;
  };
  for (auto c : cuts) feed(std::min(c, text.size()));
  feed(text.size());
  run.head = parser.head();
  run.problem = parser.problem();
  return run;
}

bool same_fields(const Head& a, const Head& b) {
  if (a.fields.size() != b.fields.size()) return false;
  for (std::size_t i = 0; i < a.fields.size(); ++i) {
    if (a.fields[i].name != b.fields[i].name || a.fields[i].value != b.fields[i].value)
      return false;
  }
  return true;
}

bool clean_text(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void check_request(std::string_view text, std::size_t cut) {
  auto whole = run_head(text, HeadParser::Kind::request, {});
  auto split = run_head(text, HeadParser::Kind::request, {cut, cut + 1, cut + 7});
  check(whole.state == split.state);
  check(whole.consumed == split.consumed);
  check(whole.consumed <= kMaxHeadSize);
  if (whole.state == HeadParser::State::need_more) {
    check(whole.consumed == text.size());
    return;
  }
  if (whole.state == HeadParser::State::error) {
    check(split.problem.status == whole.problem.status);
    check(whole.problem.status == 400 || whole.problem.status == 431 ||
          whole.problem.status == 505);
    check(!whole.problem.message.empty());
    return;
  }
  check(whole.head.method == split.head.method && whole.head.target == split.head.target);
  check(same_fields(whole.head, split.head));
  check(whole.head.fields.size() <= kMaxFields);

  auto interpreted = interpret_request(whole.head);
  if (auto* p = std::get_if<Problem>(&interpreted)) {
    check(p->status == 400 || p->status == 431 || p->status == 501);
    check(!p->message.empty());
    return;
  }
  const auto& r = std::get<ProxyRequest>(interpreted);
  check(r.destination.port != 0);
  check(is_valid_host(r.destination.host));
  check(host_charset_ok(r.destination.host));
  if (r.is_connect()) {
    check(r.body.kind == BodyFraming::none || r.body.content_length == 0);
    check(!r.keep_alive);
    return;
  }
  check(r.body.kind != BodyFraming::until_close);
  check(!r.origin_target.empty());
  check(r.origin_target[0] == '/' || r.origin_target == "*");
  check(clean_text(r.origin_target) && r.origin_target.find(' ') == std::string::npos);
  check(clean_text(r.host_field));

  // What goes to the destination parses back to the same request.
  std::string forwarded = destination_head(r);
  auto again = run_head(forwarded, HeadParser::Kind::request, {});
  check(again.state == HeadParser::State::complete);
  check(again.consumed == forwarded.size());
  check(again.head.method == r.method);
  check(again.head.target == r.origin_target);
  check(again.head.count("Host") == 1);
  check(again.head.has_token("Connection", "close"));
  for (auto name :
       {"Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "TE", "Trailer", "Upgrade"}) {
    check(again.head.count(name) == 0);
  }
  check(again.head.count("Content-Length") == (r.body.kind == BodyFraming::length ? 1u : 0u));
  check(again.head.count("Transfer-Encoding") == (r.body.kind == BodyFraming::chunked ? 1u : 0u));
}

void check_response(std::string_view text, std::size_t cut) {
  auto whole = run_head(text, HeadParser::Kind::response, {});
  auto split = run_head(text, HeadParser::Kind::response, {cut});
  check(whole.state == split.state && whole.consumed == split.consumed);
  if (whole.state != HeadParser::State::complete) return;
  check(whole.head.status >= 100 && whole.head.status <= 999);
  for (std::string_view method : {"GET", "HEAD"}) {
    auto interpreted = interpret_response(whole.head, method);
    if (auto* p = std::get_if<Problem>(&interpreted)) {
      check(p->status == 502);
      continue;
    }
    const auto& r = std::get<ProxyResponse>(interpreted);
    if (method == "HEAD" || r.informational()) check(r.body.kind == BodyFraming::none);
    for (int minor : {0, 1}) {
      for (bool keep_alive : {false, true}) {
        std::string head = client_head(r, minor, keep_alive);
        auto again = run_head(head, HeadParser::Kind::response, {});
        check(again.state == HeadParser::State::complete);
        check(again.consumed == head.size());
        check(again.head.status == r.status);
        if (!r.informational()) check(again.head.has_token("Connection", "close") == !keep_alive);
      }
    }
  }
}

struct BodyRun {
  ChunkedDecoder::Result result = ChunkedDecoder::Result::need_more;
  std::string data;
  std::size_t consumed = 0;
};

BodyRun run_chunked(std::string_view text, const std::vector<std::size_t>& cuts) {
  ChunkedDecoder decoder;
  BodyRun run;
  std::size_t start = 0;
  auto feed = [&](std::size_t end) {
    if (run.result != ChunkedDecoder::Result::need_more || end <= start) return;
    std::size_t used = 0;
    run.result = decoder.feed(text.substr(start, end - start), used, run.data);
    check(used <= end - start);
    if (run.result == ChunkedDecoder::Result::need_more) check(used == end - start);
    start += used;
    run.consumed += used;
  };
  for (auto c : cuts) feed(std::min(c, text.size()));
  feed(text.size());
  check(run.data.size() <= run.consumed);
  check(decoder.done() == (run.result == ChunkedDecoder::Result::done));
  return run;
}

void check_chunked(std::string_view text, std::size_t cut) {
  auto whole = run_chunked(text, {});
  std::vector<std::size_t> cuts = {cut / 2, cut, cut + 1};
  auto split = run_chunked(text, cuts);
  check(whole.result == split.result);
  if (whole.result == ChunkedDecoder::Result::error) return;
  check(whole.consumed == split.consumed);
  check(whole.data == split.data);
  if (whole.result != ChunkedDecoder::Result::done) return;
  // Re-framed the way the proxy forwards it, it decodes to the same data.
  std::string framed;
  append_chunk(framed, std::string_view(whole.data).substr(0, whole.data.size() / 2));
  append_chunk(framed, std::string_view(whole.data).substr(whole.data.size() / 2));
  framed += kLastChunk;
  auto again = run_chunked(framed, {});
  check(again.result == ChunkedDecoder::Result::done);
  check(again.data == whole.data);
  check(again.consumed == framed.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Where to split is taken from the input, so the fuzzer explores it too.
  std::size_t cut = size > 0 ? data[0] % (size + 1) : 0;
  check_request(text, cut);
  check_response(text, cut);
  check_chunked(text, cut);
  return 0;
}
