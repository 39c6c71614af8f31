#include "examples/http_proxy/error_response.hpp"

#include "client/circuit_error.hpp"
#include "client/pool_client.hpp"
#include "examples/http_proxy/node_directory.hpp"

namespace tpdp::http_proxy {
namespace {

bool is_tpdp(std::error_code ec, Errc e) {
  return ec == make_error_code(e);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string with_detail(std::string message, const std::string& exit_detail) {
  if (!exit_detail.empty()) message += " (the exit says: " + exit_detail + ")";
  return message;
}

// CircuitError::what() is "TEXT: CODE MESSAGE", and TEXT often ends with the
// code's message already: say it once. The exit's own reason is added when it
// says more than that.
std::string circuit_error_text(const CircuitError& e, const std::string& exit_detail) {
  std::string text = e.what();
  std::string suffix = ": " + e.code().message();
  if (ends_with(text, suffix + suffix)) text.resize(text.size() - suffix.size());
  if (!exit_detail.empty() && !ends_with(exit_detail, e.code().message())) {
    text = with_detail(std::move(text), exit_detail);
  }
  return text;
}

}  // namespace

http::Problem problem_from_build_failure(std::exception_ptr failure, BuildStage stage,
                                         const HostPort& destination,
                                         const std::string& exit_detail) {
  std::string where = format_host_port(destination);
  try {
    std::rethrow_exception(failure);
  } catch (const NotEnoughNodes& e) {
    return {503, e.what()};
  } catch (const PoolError& e) {
    return {502, std::string("cannot get the node list: ") + e.what()};
  } catch (const CircuitError& e) {
    std::string what = circuit_error_text(e, exit_detail);
    switch (e.errc()) {
      case Errc::exit_policy_refused:
        return {403, "the exit node's policy refuses " + where + ": " + what};
      case Errc::timeout:
        return {504, "timed out: " + what};
      case Errc::connect_failed:
      case Errc::connection_refused:
      case Errc::resolve_failed:
        if (stage == BuildStage::opening_stream) {
          return {502, "destination " + where + " is unreachable: " + what};
        }
        break;
      case Errc::protocol_error:
        if (e.hop() == 0) return {400, what};  // the destination itself is invalid
        break;
      default:
        break;
    }
    return {502, "could not build the path: " + what};
  } catch (const std::system_error& e) {
    if (is_tpdp(e.code(), Errc::timeout)) return {504, std::string("timed out: ") + e.what()};
    return {502, std::string("could not reach ") + where + ": " + e.what()};
  } catch (const std::exception& e) {
    return {502, std::string("could not reach ") + where + ": " + e.what()};
  }
}

http::Problem problem_from_stream_error(std::error_code ec, const std::string& exit_detail) {
  if (is_tpdp(ec, Errc::timeout)) {
    return {504, with_detail("the destination timed out", exit_detail)};
  }
  return {502,
          with_detail("the stream through the circuit failed before a response: " + ec.message(),
                      exit_detail)};
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string error_response(const http::Problem& problem) {
  std::string body = "tpdp-http-proxy: " + problem.message + "\n";
  return "HTTP/1.1 " + std::to_string(problem.status) + " " + reason_phrase(problem.status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" +
         body;
}

}  // namespace tpdp::http_proxy
