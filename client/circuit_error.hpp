// Errors from building or using a circuit, naming the hop that failed.
#pragma once

#include <string>
#include <system_error>

#include "protocol/errors.hpp"

namespace tpdp {

class CircuitError : public std::system_error {
 public:
  // hop: 1-based index of the failing hop, 0 when no single hop is to blame.
  CircuitError(Errc code, int hop, const std::string& message)
      : std::system_error(make_error_code(code), message), hop_(hop) {}
  int hop() const { return hop_; }
  Errc errc() const { return static_cast<Errc>(code().value()); }

 private:
  int hop_;
};

}  // namespace tpdp
