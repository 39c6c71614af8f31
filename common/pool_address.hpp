// A pool index address as given on command lines: HOST:PORT, optionally
// pinned to the pool's key with @FINGERPRINT.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/crypto_types.hpp"
#include "protocol/host.hpp"

namespace tpdp {

struct PoolAddress {
  HostPort address;
  std::optional<IdentityPublicKey> pinned_key;
  std::string to_string() const;  // HOST:PORT (without the pin)
};

std::optional<PoolAddress> parse_pool_address(std::string_view text, std::string* error);

}  // namespace tpdp
