// Key files under a data directory: created on first start with mode 0600
// (directory 0700), loaded and checked afterwards. A damaged or unreadable
// key file is an error naming the file; an identity is never silently
// regenerated.
#pragma once

#include <filesystem>
#include <stdexcept>

#include "protocol/identity.hpp"

namespace tpdp {

class KeyStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedNodeKeys {
  NodeKeys keys;
  bool created = false;
  std::filesystem::path file;
};
struct LoadedPoolKey {
  IdentityKeypair keys;
  bool created = false;
  std::filesystem::path file;
};

LoadedNodeKeys load_or_create_node_keys(const std::filesystem::path& data_dir);
LoadedPoolKey load_or_create_pool_key(const std::filesystem::path& data_dir);

// Creates dir (and parents) with mode 0700 if missing; checks it is a writable directory.
void ensure_data_dir(const std::filesystem::path& dir);

// Writes a file atomically (temp file + rename) with the given mode.
void write_file_atomic(const std::filesystem::path& file, ByteView data, unsigned mode);

}  // namespace tpdp
