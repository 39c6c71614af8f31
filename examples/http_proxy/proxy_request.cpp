#include "examples/http_proxy/proxy_request.hpp"

#include <charconv>
#include <optional>

namespace tpdp::http {
namespace {

Problem bad(std::string message) {
  return Problem{400, std::move(message)};
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

struct Url {
  HostPort where;
  std::string path;  // "/..." or "" (the URL has no path)
};

// http://host[:port][/path][?query][#fragment]; the scheme is already checked.
std::variant<Url, Problem> parse_http_url(std::string_view rest) {
  auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user information (user@host) in URLs is not supported");
  }
  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("missing ']' in the URL's host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("malformed host in the URL");
    port = after.empty() ? after : after.substr(1);
    if (!is_ipv6_literal(host)) return bad("malformed IPv6 address in the URL");
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon + 1);
  }
  if (host.empty()) return bad("the URL has no host");
  if (!is_valid_host(host)) return bad("malformed host name in the URL");
  unsigned value = 80;  // an empty port means the default (RFC 3986 3.2.3)
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (!all_digits(port) || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad("malformed port in the URL");
    }
  }
  // A fragment is never sent to a server.
  path = path.substr(0, path.find('#'));
  return Url{HostPort{std::string(host), static_cast<std::uint16_t>(value)}, std::string(path)};
}

// Content-Length as received: every value identical ("5, 5" is fine), digits only.
std::variant<std::uint64_t, Problem> content_length(const Head& head) {
  auto values = head.list("Content-Length");
  if (values.empty()) return bad("empty Content-Length");
  for (const auto& v : values) {
    if (!all_digits(v)) return bad("malformed Content-Length '" + v.substr(0, 32) + "'");
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(values[0].data(), values[0].data() + values[0].size(), n);
  if (ec != std::errc() || n > (std::uint64_t{1} << 62)) return bad("Content-Length too large");
  for (const auto& v : values) {
    std::uint64_t m = 0;
    auto [e2, ec2] = std::from_chars(v.data(), v.data() + v.size(), m);
    if (ec2 != std::errc() || m != n) return bad("conflicting Content-Length values");
  }
  return n;
}

std::variant<BodyFraming, Problem> request_framing(const Head& head) {
  auto codings = head.list("Transfer-Encoding");
  bool has_length = head.count("Content-Length") > 0;
  if (head.count("Transfer-Encoding") > 0) {
    // Both present is how requests are smuggled past intermediaries (RFC 9112 6.1).
    if (has_length) return bad("both Transfer-Encoding and Content-Length in the request");
    if (head.version_minor == 0) return bad("Transfer-Encoding in an HTTP/1.0 request");
    if (codings.empty() || !iequals(codings.back(), "chunked")) {
      return bad("the request's Transfer-Encoding does not end with chunked");
    }
    if (codings.size() != 1) {
      return Problem{501, "transfer codings other than chunked are not supported"};
    }
    return BodyFraming{BodyFraming::chunked};
  }
  if (has_length) {
    auto n = content_length(head);
    if (auto* p = std::get_if<Problem>(&n)) return *p;
    return BodyFraming{BodyFraming::length, std::get<std::uint64_t>(n)};
  }
  return BodyFraming{};
}

}  // namespace

TargetForm target_form(std::string_view method, std::string_view target) {
  if (method == "CONNECT") return TargetForm::authority;
  if (target == "*") return TargetForm::asterisk;
  if (!target.empty() && target.front() == '/') return TargetForm::origin;
  return TargetForm::absolute;
}

std::variant<ProxyRequest, Problem> interpret_request(const Head& head) {
  ProxyRequest r;
  r.method = head.method;
  r.version_minor = head.version_minor;
  r.form = target_form(head.method, head.target);

  // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host field.
  std::size_t hosts = head.count("Host");
  if (hosts > 1) return bad("more than one Host header field");
  if (hosts == 0 && head.version_minor == 1) return bad("HTTP/1.1 request without a Host field");

  auto framing = request_framing(head);
  if (auto* p = std::get_if<Problem>(&framing)) return *p;
  r.body = std::get<BodyFraming>(framing);

  bool close = head.has_token("Connection", "close");
  r.keep_alive =
      head.version_minor == 1 ? !close : head.has_token("Connection", "keep-alive") && !close;

  switch (r.form) {
    case TargetForm::origin:
    case TargetForm::asterisk:
      return bad(
          "this is a proxy: requests need an absolute URL (GET http://host/path HTTP/1.1) or "
          "CONNECT host:port; set it as the HTTP proxy of your program");
    case TargetForm::authority: {
      std::string error;
      auto where = parse_host_port(head.target, &error);
      if (!where) return bad("CONNECT needs HOST:PORT: " + error);
      if (r.body.kind == BodyFraming::chunked ||
          (r.body.kind == BodyFraming::length && r.body.content_length > 0)) {
        return bad("a CONNECT request carries no body");
      }
      r.destination = *where;
      r.keep_alive = false;
      return r;
    }
    case TargetForm::absolute:
      break;
  }

  std::string_view target = head.target;
  auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return bad("malformed request target");
  std::string_view scheme = target.substr(0, scheme_end);
  if (iequals(scheme, "https")) {
    return bad(
        "https:// URLs go through the proxy with CONNECT; a plain request cannot carry them");
  }
  if (!iequals(scheme, "http")) {
    return bad("unsupported URL scheme '" + std::string(scheme.substr(0, 16)) +
               "' (only http:// requests and CONNECT)");
  }
  auto url = parse_http_url(target.substr(scheme_end + 3));
  if (auto* p = std::get_if<Problem>(&url)) return *p;
  auto& u = std::get<Url>(url);
  r.destination = std::move(u.where);
  if (u.path.empty()) {
    r.origin_target = r.method == "OPTIONS" ? "*" : "/";  // RFC 9112 3.2.4
  } else if (u.path.front() == '?') {
    r.origin_target = "/" + u.path;
  } else {
    r.origin_target = std::move(u.path);
  }
  // The Host field names the URL's authority (RFC 9112 3.2.2), whatever the client sent.
  const std::string& host = r.destination.host;
  std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  r.host_field = r.destination.port == 80 ? bracketed : format_host_port(host, r.destination.port);
  for (auto& f : end_to_end_fields(head)) {
    if (!iequals(f.name, "Host")) r.fields.push_back(std::move(f));
  }
  // The head forwarded adds Host, framing and Connection fields and may be
  // longer than the one received: it must stay within the limits the
  // destination's parser (like this proxy's) accepts, else refuse here.
  std::string forwarded = destination_head(r);
  if (r.fields.size() + 3 > kMaxFields || forwarded.size() > kMaxHeadSize) {
    return Problem{431, "the request head is too large to forward (" +
                            std::to_string(r.fields.size()) + " fields, " +
                            std::to_string(forwarded.size()) + " bytes once rewritten)"};
  }
  return r;
}

std::string destination_head(const ProxyRequest& r) {
  std::string out;
  out.reserve(256);
  out += r.method;
  out += ' ';
  out += r.origin_target;
  out += " HTTP/1.1\r\nHost: ";
  out += r.host_field;
  out += "\r\n";
  for (const auto& f : r.fields) {
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
  if (r.body.kind == BodyFraming::length) {
    out += "Content-Length: " + std::to_string(r.body.content_length) + "\r\n";
  } else if (r.body.kind == BodyFraming::chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  // No Via field: announcing the proxy to destinations would defeat the onion routing.
  out += "Connection: close\r\n\r\n";
  return out;
}

}  // namespace tpdp::http
