#include "common/pool_address.hpp"

#include "protocol/hex.hpp"

namespace tpdp {

std::string PoolAddress::to_string() const {
  return format_host_port(address);
}

std::optional<PoolAddress> parse_pool_address(std::string_view text, std::string* error) {
  PoolAddress p;
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    auto fp = text.substr(at + 1);
    auto key = public_from_hex<IdentityPublicKey>(fp);
    if (!key) {
      if (error) *error = "bad pool fingerprint '" + std::string(fp) + "' (expected 64 hex digits)";
      return std::nullopt;
    }
    p.pinned_key = *key;
    text = text.substr(0, at);
  }
  auto hp = parse_host_port(text, error);
  if (!hp) return std::nullopt;
  p.address = *hp;
  return p;
}

}  // namespace tpdp
