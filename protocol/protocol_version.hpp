// Which wire protocol a process speaks: TPDP/1 (tpdp's own, the default) or
// TPDP/0.1 (the insecure protocol of the original Python torpydo, spoken only
// for compatibility; spec/tpdp-0.1.md). A port speaks exactly one of them.
#pragma once

#include <optional>
#include <string_view>

namespace tpdp {

enum class ProtocolVersion { tpdp1, tpdp0_1 };

// "1" or "0.1" (what --protocol takes); nullopt for anything else.
inline std::optional<ProtocolVersion> parse_protocol_version(std::string_view text) {
  if (text == "1") return ProtocolVersion::tpdp1;
  if (text == "0.1") return ProtocolVersion::tpdp0_1;
  return std::nullopt;
}

inline const char* protocol_name(ProtocolVersion v) {
  return v == ProtocolVersion::tpdp1 ? "TPDP/1" : "TPDP/0.1";
}

// The one-line warning every process prints at start in TPDP/0.1 mode.
inline constexpr std::string_view kTpdp01Warning =
    "TPDP/0.1 compatibility mode is INSECURE: both directions of each hop reuse one AES-CTR "
    "keystream (XOR of the two directions of a link reveals the data), nothing is authenticated "
    "(no node identities, forgeable heartbeats and node lists, a flipped bit redirects a stream) "
    "and host lengths and error bytes travel in clear; use it only to interoperate with torpydo "
    "in a lab";

}  // namespace tpdp
