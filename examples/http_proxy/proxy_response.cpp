#include "examples/http_proxy/proxy_response.hpp"

#include <charconv>

namespace tpdp::http {
namespace {

Problem malformed_response(std::string message) {
  return Problem{502, "the destination sent a malformed response: " + message};
}

std::optional<std::uint64_t> response_length(const Head& head) {
  auto values = head.list("Content-Length");
  if (values.empty()) return std::nullopt;
  std::optional<std::uint64_t> n;
  for (const auto& v : values) {
    std::uint64_t m = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), m);
    if (v.empty() || v.front() == '-' || v.front() == '+' || ec != std::errc() ||
        end != v.data() + v.size() || (n && *n != m)) {
      return std::nullopt;
    }
    n = m;
  }
  return n;
}

void add_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::variant<ProxyResponse, Problem> interpret_response(const Head& head,
                                                        std::string_view request_method) {
  ProxyResponse r;
  r.status = head.status;
  r.reason = head.reason;
  if (r.status == 101) {
    return Problem{502,
                   "the destination switched protocols (101), which this proxy does not relay"};
  }
  r.fields = end_to_end_fields(head);
  // client_head adds up to two fields (framing and Connection) and writes
  // CRLF line ends: what it writes must stay within the limits a client (and
  // this proxy's own parser) accepts, so a head at the limits is refused here.
  // "HTTP/1.1 NNN reason\r\n", then at most 64 bytes: the added fields, the blank line.
  std::size_t size = 13 + r.reason.size() + 2 + 64;
  for (const auto& f : head.fields) size += f.name.size() + 2 + f.value.size() + 2;  // all: TE too
  if (r.fields.size() + 2 > kMaxFields || size > kMaxHeadSize) {
    return Problem{502, "the destination's response head is too large to forward (" +
                            std::to_string(r.fields.size()) + " fields, " + std::to_string(size) +
                            " bytes once rewritten)"};
  }
  bool has_length = head.count("Content-Length") > 0;
  auto length = response_length(head);

  // RFC 9112 6.3, in order.
  if (request_method == "HEAD" || r.informational() || r.status == 204 || r.status == 304) {
    r.body.kind = BodyFraming::none;
    if (r.status != 204 && !r.informational()) r.announced_length = length;
    return r;
  }
  if (head.count("Transfer-Encoding") > 0) {
    auto codings = head.list("Transfer-Encoding");
    if (codings.size() == 1 && iequals(codings[0], "chunked")) {
      r.body.kind = BodyFraming::chunked;
    } else {
      // Not chunked last: the body runs to the close; other codings stay
      // applied, for the client to undo.
      r.body.kind = BodyFraming::until_close;
      for (const auto& c : codings) {
        if (!r.passthrough_codings.empty()) r.passthrough_codings += ", ";
        r.passthrough_codings += c;
      }
    }
    return r;
  }
  if (has_length) {
    if (!length) return malformed_response("invalid or conflicting Content-Length");
    r.body = BodyFraming{BodyFraming::length, *length};
    return r;
  }
  r.body.kind = BodyFraming::until_close;
  return r;
}

bool rechunk_for(const ProxyResponse& response, int client_minor) {
  return response.body.kind == BodyFraming::chunked && client_minor == 1;
}

bool body_ends_with_close(const ProxyResponse& response, int client_minor) {
  return response.body.kind == BodyFraming::until_close ||
         (response.body.kind == BodyFraming::chunked && client_minor == 0);
}

std::string client_head(const ProxyResponse& r, int client_minor, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + r.reason + "\r\n";
  for (const auto& f : r.fields) add_field(out, f.name, f.value);
  if (r.informational()) return out + "\r\n";
  switch (r.body.kind) {
    case BodyFraming::none:
      if (r.announced_length) add_field(out, "Content-Length", std::to_string(*r.announced_length));
      break;
    case BodyFraming::length:
      add_field(out, "Content-Length", std::to_string(r.body.content_length));
      break;
    case BodyFraming::chunked:
      if (rechunk_for(r, client_minor)) add_field(out, "Transfer-Encoding", "chunked");
      break;
    case BodyFraming::until_close:
      if (!r.passthrough_codings.empty()) {
        add_field(out, "Transfer-Encoding", r.passthrough_codings);
      }
      break;
  }
  if (!keep_alive) {
    add_field(out, "Connection", "close");
  } else if (client_minor == 0) {
    add_field(out, "Connection", "keep-alive");
  }
  return out + "\r\n";
}

}  // namespace tpdp::http
