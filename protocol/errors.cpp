#include "protocol/errors.hpp"

namespace tpdp {
namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "tpdp"; }
  std::string message(int v) const override {
    switch (static_cast<Errc>(v)) {
      case Errc::ok:
        return "success";
      case Errc::timeout:
        return "timed out";
      case Errc::protocol_error:
        return "protocol error";
      case Errc::connect_failed:
        return "could not connect";
      case Errc::authentication_failed:
        return "authentication failed";
      case Errc::exit_policy_refused:
        return "destination refused by exit policy";
      case Errc::limit_reached:
        return "limit reached";
      case Errc::unknown_identity:
        return "node does not hold the requested identity";
      case Errc::resolve_failed:
        return "host name did not resolve";
      case Errc::integrity_failure:
        return "integrity check failed (data was altered)";
      case Errc::circuit_truncated:
        return "circuit closed without a clean end (truncated)";
      case Errc::bad_signature:
        return "bad signature";
      case Errc::address_in_use:
        return "address held by another identity";
      case Errc::internal_error:
        return "internal error";
      case Errc::connection_refused:
        return "connection refused";
    }
    return "unknown tpdp error";
  }
};

}  // namespace

const std::error_category& tpdp_category() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), tpdp_category()};
}

const char* errc_name(Errc e) {
  switch (e) {
    case Errc::ok:
      return "ok";
    case Errc::timeout:
      return "timeout";
    case Errc::protocol_error:
      return "protocol_error";
    case Errc::connect_failed:
      return "connect_failed";
    case Errc::authentication_failed:
      return "authentication_failed";
    case Errc::exit_policy_refused:
      return "exit_policy_refused";
    case Errc::limit_reached:
      return "limit_reached";
    case Errc::unknown_identity:
      return "unknown_identity";
    case Errc::resolve_failed:
      return "resolve_failed";
    case Errc::integrity_failure:
      return "integrity_failure";
    case Errc::circuit_truncated:
      return "circuit_truncated";
    case Errc::bad_signature:
      return "bad_signature";
    case Errc::address_in_use:
      return "address_in_use";
    case Errc::internal_error:
      return "internal_error";
    case Errc::connection_refused:
      return "connection_refused";
  }
  return "unknown";
}

Errc errc_from_wire(std::uint8_t code) {
  if (code == 0 || code > kMaxWireErrc) return Errc::protocol_error;
  return static_cast<Errc>(code);
}

}  // namespace tpdp
