// Errors from building or using a circuit, naming the hop that failed.
#pragma once

#include <string>
#include <system_error>

#include "protocol/errors.hpp"

namespace tpdp {

class CircuitError : public std::system_error {
 public:
  // hop: 1-based index of the failing hop, 0 when no single hop is to blame.
  // message is the whole text (what() does not append the code's message).
  CircuitError(Errc code, int hop, std::string message)
      : std::system_error(make_error_code(code)), hop_(hop), message_(std::move(message)) {}
  int hop() const { return hop_; }
  Errc errc() const { return static_cast<Errc>(code().value()); }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int hop_;
  std::string message_;
};

}  // namespace tpdp
