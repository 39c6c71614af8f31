#include "protocol/v0_1/wire.hpp"

namespace tpdp::v0_1 {

std::string error_byte_meaning(std::uint8_t byte) {
  switch (byte) {
    case static_cast<std::uint8_t>(ErrorByte::timeout):
      return "timeout";
    case static_cast<std::uint8_t>(ErrorByte::protocol_error):
      return "protocol error";
    case static_cast<std::uint8_t>(ErrorByte::destination_error):
      return "destination connection error";
  }
  return "unknown error code " + std::to_string(byte);
}

Errc errc_for_error_byte(std::uint8_t byte) {
  switch (byte) {
    case static_cast<std::uint8_t>(ErrorByte::timeout):
      return Errc::timeout;
    case static_cast<std::uint8_t>(ErrorByte::destination_error):
      return Errc::connect_failed;
    default:
      return Errc::protocol_error;
  }
}

}  // namespace tpdp::v0_1
