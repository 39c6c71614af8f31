// HTTP/1.x message heads (RFC 9112) for tpdp-http-proxy: a byte-fed parser
// for request and response heads, and the field helpers the proxy needs.
// No sockets here: the parser is unit tested and fuzzed on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tpdp::http {

// Longest head (start line, fields and the blank line) accepted.
inline constexpr std::size_t kMaxHeadSize = 64 * 1024;
// Most field lines in one head.
inline constexpr std::size_t kMaxFields = 256;

// Something wrong with a message, with the status the proxy answers with.
struct Problem {
  int status = 400;
  std::string message;
};

struct Field {
  std::string name;   // as received (compare case-insensitively)
  std::string value;  // without leading and trailing whitespace
};

struct Head {
  // Request start line.
  std::string method;
  std::string target;
  // Response start line.
  int status = 0;
  std::string reason;
  // Both: HTTP/1.<version_minor>.
  int version_minor = 1;
  std::vector<Field> fields;

  // Every value of the fields called `name`, split at commas, trimmed,
  // empty elements dropped (RFC 9110 5.6.1 lists).
  std::vector<std::string> list(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  bool has_token(std::string_view name, std::string_view token) const;
};

// The fields an intermediary forwards (RFC 9110 7.6.1): without Connection
// and the fields it names, Keep-Alive, Proxy-Connection, Proxy-Authorization,
// TE, Trailer and Upgrade; also without Content-Length and
// Transfer-Encoding, which the proxy writes itself for the framing it uses.
std::vector<Field> end_to_end_fields(const Head& head);

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
bool is_token(std::string_view s);  // RFC 9110 token (methods, field names)

// Feed bytes as they arrive; the parser consumes them up to the end of the
// head and never past it, so what follows (a body, the next request) stays
// with the caller.
class HeadParser {
 public:
  enum class Kind { request, response };
  enum class State { need_more, complete, error };

  explicit HeadParser(Kind kind, std::size_t max_size = kMaxHeadSize);

  // Consumes up to all of `in`; sets `consumed` to the bytes that belonged to the head.
  State feed(std::string_view in, std::size_t& consumed);
  State state() const { return state_; }
  // True before the first byte of a start line (only blank lines so far).
  bool idle() const { return at_start_ && line_.empty(); }

  const Head& head() const { return head_; }
  Head& head() { return head_; }
  // Set when state() is error: 400, 431 (head too large) or 505 (not HTTP/1.x).
  const Problem& problem() const { return problem_; }

 private:
  State fail(int status, std::string message);
  State line_done();
  State start_line(std::string_view line);
  State field_line(std::string_view line);

  Kind kind_;
  std::size_t max_size_;
  std::size_t size_ = 0;         // head bytes consumed so far
  std::size_t blank_lines_ = 0;  // blank lines before a request line
  bool at_start_ = true;         // no start line yet
  std::string line_;             // the line being received
  State state_ = State::need_more;
  Head head_;
  Problem problem_;
};

}  // namespace tpdp::http
