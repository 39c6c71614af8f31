// Trust on first use for pool keys: the first key seen for a pool address
// is remembered (DATA_DIR/known_pools.json); a different key later is refused.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "protocol/crypto_types.hpp"

namespace tpdp {

class TrustStore {
 public:
  enum class Verdict { known, first_use, changed };

  // Loads the file if it exists (throws std::runtime_error if unreadable or corrupt).
  explicit TrustStore(std::filesystem::path file);
  // Checks key for address; remembers it on first use (and saves the file).
  Verdict check(const std::string& address, const IdentityPublicKey& key);
  const std::filesystem::path& file() const { return file_; }
  std::string remembered(const std::string& address) const;

 private:
  void save() const;
  std::filesystem::path file_;
  std::map<std::string, std::string> pools_;  // "host:port" -> fingerprint
};

}  // namespace tpdp
