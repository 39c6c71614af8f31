// Trust on first use for pool keys: the first key seen for a pool address
// is remembered (DATA_DIR/known_pools.json); a different key later is refused.
// The file is trusted only as a key file is (common/key_store.hpp: a regular file
// owned by this user or root, in a directory only they can change), and it must not
// be writable by group or others; it is written with mode 0600.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "protocol/crypto_types.hpp"

namespace tpdp {

class TrustStore {
 public:
  enum class Verdict { known, first_use, changed };

  // Larger than this, the file is refused: 10 000 pools' worth.
  static constexpr std::size_t kMaxFileSize = 4 << 20;
  // Loads the file if it exists (throws std::runtime_error if unreadable, untrusted
  // (KeyStoreError) or corrupt).
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
