// What a client asks of the proxy (RFC 9112 3.2): the destination, the
// request rewritten for it, and how the request body is delimited.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "examples/http_proxy/http_body.hpp"
#include "examples/http_proxy/http_head.hpp"
#include "protocol/host.hpp"

namespace tpdp::http {

enum class TargetForm { origin, absolute, authority, asterisk };

// Which form a request target has (RFC 9112 3.2.1-3.2.4).
TargetForm target_form(std::string_view method, std::string_view target);

struct ProxyRequest {
  std::string method;
  int version_minor = 1;  // the client's HTTP/1.x
  TargetForm form = TargetForm::absolute;
  HostPort destination;       // from the absolute URL or the CONNECT authority
  std::string origin_target;  // absolute form: the path and query ("*" for OPTIONS *)
  std::string host_field;     // Host: for the destination (no ":80")
  BodyFraming body;           // none, length or chunked
  bool keep_alive = true;     // the client wants the connection kept open
  std::vector<Field> fields;  // end-to-end fields, forwarded as received

  bool is_connect() const { return form == TargetForm::authority; }
  bool is_head() const { return method == "HEAD"; }
};

// Checks a complete request head. Absolute form (http:// only) and CONNECT's
// authority form are accepted; anything ambiguous is refused with a status.
std::variant<ProxyRequest, Problem> interpret_request(const Head& head);

// The head the proxy sends to the destination: origin-form target, Host,
// the end-to-end fields, the body's framing and `Connection: close` (one
// request per circuit).
std::string destination_head(const ProxyRequest& request);

}  // namespace tpdp::http
