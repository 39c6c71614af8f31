// Fetching and verifying a pool's signed node list.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <vector>

#include "client/trust_store.hpp"
#include "common/pool_address.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp {

class PoolError : public std::runtime_error {
 public:
  PoolError(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

struct VerifiedNodeList {
  IdentityPublicKey pool_key;
  std::vector<NodeDescriptor> nodes;
  bool first_use = false;  // the key was trusted on first use just now
};

// Fetches the list, checks the signature and the echoed nonce, and checks the
// pool's key against the pin (if any) or the trust store (if given).
// Throws PoolError with a message that says what to do.
asio::awaitable<VerifiedNodeList> fetch_node_list(const PoolAddress& pool, TrustStore* trust,
                                                  std::chrono::milliseconds timeout);

}  // namespace tpdp
