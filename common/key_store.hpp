// Key files under a data directory: created on first start with mode 0600
// (directory 0700), loaded and checked afterwards. A damaged or unreadable
// key file is an error naming the file; an identity is never silently
// regenerated.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

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

// Creates dir (and parents) with mode 0700 if missing; checks it is a writable directory
// that only this user (or root) can change (check_trusted_dir).
void ensure_data_dir(const std::filesystem::path& dir);

// What a file the program trusts is to others: a key file is secret (no access by
// group or others: mode 0600); a trust store is public but its integrity matters
// (no write by group or others: 0644 at most, as OpenSSH's known_hosts). A group
// write bit is ignored when the group is the user's private group (no other member).
enum class FileSecrecy { secret, public_read };

// OpenSSH StrictModes for a directory holding keys or trust stores: it must be owned by
// this user or root and not writable by group (unless the user's private group) or
// others (sticky or not), and no directory
// above it may be writable by others without the sticky bit (anyone could rename it away).
// Throws KeyStoreError with one line naming the directory and the fix.
void check_trusted_dir(const std::filesystem::path& dir);

// Reads a key file or trust store ("what" names it in errors) without ever blocking:
// opened O_NONBLOCK (a FIFO planted in its place is refused, not waited on); symlinks are
// followed, and what is checked is the opened file itself (fstat) and the directories of
// both the name and its target. It must be a regular file owned by this user or root,
// with the mode that secrecy asks, and at most max_size bytes. nullopt if it does not
// exist; KeyStoreError (one line: the file and the fix) for anything else.
std::optional<Bytes> read_trusted_file(const std::filesystem::path& file, std::size_t max_size,
                                       FileSecrecy secrecy, const std::string& what);

// Writes a file atomically (temp file + rename) with the given mode.
void write_file_atomic(const std::filesystem::path& file, ByteView data, unsigned mode);

}  // namespace tpdp
