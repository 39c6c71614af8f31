#include "examples/http_proxy/http_head.hpp"

namespace tpdp::http {
namespace {

// Blank lines tolerated before a request line (RFC 9112 2.2 asks for at least one).
constexpr std::size_t kMaxLeadingBlankLines = 8;

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char lower_char(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// "HTTP/1.1" -> 1 (minor), "HTTP/1.0" -> 0; -1: not a version; -2: not HTTP/1.x.
int parse_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return -1;
  char major = v[5], minor = v[7];
  if (major < '0' || major > '9' || minor < '0' || minor > '9') return -1;
  if (major != '1') return -2;
  // HTTP/1.2 and later minors are handled as 1.1 (RFC 9110 2.5).
  return minor == '0' ? 0 : 1;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower_char(c);
  return out;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

std::vector<std::string> Head::list(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& f : fields) {
    if (!iequals(f.name, name)) continue;
    std::string_view rest = f.value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto element = trim(rest.substr(0, comma));
      if (!element.empty()) out.emplace_back(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::size_t Head::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& f : fields) n += iequals(f.name, name) ? 1 : 0;
  return n;
}

bool Head::has_token(std::string_view name, std::string_view token) const {
  for (const auto& element : list(name)) {
    if (iequals(element, token)) return true;
  }
  return false;
}

std::vector<Field> end_to_end_fields(const Head& head) {
  static constexpr std::string_view kHopByHop[] = {
      "Connection", "Keep-Alive",        "Proxy-Connection", "Proxy-Authorization", "TE",
      "Trailer",    "Transfer-Encoding", "Upgrade",          "Content-Length",
  };
  auto connection_options = head.list("Connection");
  std::vector<Field> out;
  for (const auto& f : head.fields) {
    bool drop = false;
    for (auto name : kHopByHop) drop = drop || iequals(f.name, name);
    for (const auto& option : connection_options) drop = drop || iequals(f.name, option);
    if (!drop) out.push_back(f);
  }
  return out;
}

HeadParser::HeadParser(Kind kind, std::size_t max_size) : kind_(kind), max_size_(max_size) {}

HeadParser::State HeadParser::fail(int status, std::string message) {
  state_ = State::error;
  problem_ = Problem{status, std::move(message)};
  line_.clear();
  return state_;
}

HeadParser::State HeadParser::feed(std::string_view in, std::size_t& consumed) {
  consumed = 0;
  while (state_ == State::need_more && consumed < in.size()) {
    std::string_view rest = in.substr(consumed);
    auto newline = rest.find('\n');
    std::size_t take = newline == std::string_view::npos ? rest.size() : newline + 1;
    if (take > max_size_ - size_) {
      consumed += max_size_ - size_;
      return fail(431,
                  "the message head is larger than " + std::to_string(max_size_ / 1024) + " KiB");
    }
    size_ += take;
    consumed += take;
    if (newline == std::string_view::npos) {
      line_.append(rest);
      break;
    }
    line_.append(rest.substr(0, newline));
    line_done();
    line_.clear();
  }
  return state_;
}

HeadParser::State HeadParser::line_done() {
  std::string_view line = line_;
  // CRLF ends a line; a bare LF is accepted too (RFC 9112 2.2). The proxy
  // writes heads of its own, so what it forwards is always CRLF.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find('\r') != std::string_view::npos) return fail(400, "bare CR in the message head");
  if (at_start_) {
    if (line.empty() && kind_ == Kind::request) {
      if (++blank_lines_ > kMaxLeadingBlankLines) {
        return fail(400, "blank lines where the request line should be");
      }
      return state_;
    }
    at_start_ = false;
    return start_line(line);
  }
  if (line.empty()) {
    state_ = State::complete;
    return state_;
  }
  return field_line(line);
}

HeadParser::State HeadParser::start_line(std::string_view line) {
  if (kind_ == Kind::request) {
    // method SP request-target SP HTTP-version, single spaces.
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
      return fail(400, "malformed request line (expected METHOD TARGET HTTP/1.1)");
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (!is_token(method)) return fail(400, "malformed request method");
    if (target.empty()) return fail(400, "empty request target");
    for (char c : target) {
      if (c <= ' ' || c >= 0x7f) return fail(400, "malformed request target");
    }
    int minor = parse_version(line.substr(sp2 + 1));
    if (minor == -1) return fail(400, "malformed HTTP version in the request line");
    if (minor == -2) return fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    head_.method.assign(method);
    head_.target.assign(target);
    head_.version_minor = minor;
    return state_;
  }
  // HTTP-version SP 3DIGIT SP [reason-phrase]; a missing SP before an empty
  // reason is tolerated.
  int minor = parse_version(line.substr(0, 8));
  if (minor < 0) return fail(400, "malformed status line (not an HTTP/1.x response)");
  if (line.size() < 12 || line[8] != ' ') return fail(400, "malformed status line");
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return fail(400, "malformed status code");
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return fail(400, "malformed status code");
  if (line.size() > 12 && line[12] != ' ') return fail(400, "malformed status line");
  std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  for (char c : reason) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return fail(400, "control character in the reason");
  }
  head_.version_minor = minor;
  head_.status = status;
  head_.reason.assign(reason);
  return state_;
}

HeadParser::State HeadParser::field_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    return fail(400, "obsolete line folding in the header fields (RFC 9112 5.2)");
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "header field line without a colon");
  std::string_view name = line.substr(0, colon);
  if (!is_token(name)) return fail(400, "malformed header field name");
  std::string_view value = trim(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return fail(400, "control character in header field " + std::string(name.substr(0, 64)));
    }
  }
  if (head_.fields.size() >= kMaxFields) {
    return fail(431, "more than " + std::to_string(kMaxFields) + " header fields");
  }
  head_.fields.push_back(Field{std::string(name), std::string(value)});
  return state_;
}

}  // namespace tpdp::http
