// What the proxy answers when it cannot deliver a request: an HTTP status
// chosen from what failed, and a one-line text body saying what happened.
#pragma once

#include <exception>
#include <string>
#include <system_error>

#include "examples/http_proxy/http_head.hpp"
#include "protocol/host.hpp"

namespace tpdp::http_proxy {

// How far building the circuit got when it failed.
enum class BuildStage {
  choosing_path,   // asking the pools for nodes
  extending,       // connecting to and extending through the nodes
  opening_stream,  // asking the exit to connect to the destination
};

// 503 too few nodes, 502 pool problems, path failures and unreachable
// destinations, 403 exit policy, 504 timeouts, 400 invalid destinations.
http::Problem problem_from_build_failure(std::exception_ptr failure, BuildStage stage,
                                         const HostPort& destination,
                                         const std::string& exit_detail);

// The stream through the circuit failed before the response head arrived.
http::Problem problem_from_stream_error(std::error_code ec, const std::string& exit_detail);

const char* reason_phrase(int status);

// A complete response: status line, text/plain body "tpdp-http-proxy: MESSAGE\n",
// Connection: close.
std::string error_response(const http::Problem& problem);

}  // namespace tpdp::http_proxy
