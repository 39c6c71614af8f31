// A destination's response as the proxy relays it (RFC 9112 6.3): how its
// body ends, and the head the client gets.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "examples/http_proxy/http_body.hpp"
#include "examples/http_proxy/http_head.hpp"

namespace tpdp::http {

struct ProxyResponse {
  int status = 0;
  std::string reason;
  BodyFraming body;  // none, length, chunked or until_close
  // Bodiless responses (HEAD, 304) keep the Content-Length they announce.
  std::optional<std::uint64_t> announced_length;
  // Transfer codings other than chunked are passed through as received
  // (close-delimited), with their Transfer-Encoding field.
  std::string passthrough_codings;
  std::vector<Field> fields;  // end-to-end fields

  bool informational() const { return status < 200; }
};

// Checks a complete response head to a `request_method` request.
// Problems are the destination's fault: the proxy answers 502.
std::variant<ProxyResponse, Problem> interpret_response(const Head& head,
                                                        std::string_view request_method);

// How the body reaches a client speaking HTTP/1.<client_minor>: chunked
// bodies are re-chunked for HTTP/1.1 clients and decoded for HTTP/1.0
// ones, which then need the connection closed after the body.
bool rechunk_for(const ProxyResponse& response, int client_minor);
bool body_ends_with_close(const ProxyResponse& response, int client_minor);

// The head for the client: HTTP/1.1 status line, end-to-end fields, the
// framing, and Connection: close when the connection ends after this response.
std::string client_head(const ProxyResponse& response, int client_minor, bool keep_alive);

}  // namespace tpdp::http
