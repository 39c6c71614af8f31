// The last verified node list of each pool, kept in the client's data dir
// (last_lists.json, mode 0600), so that a client whose pool is down (killed,
// restarting) keeps working from what it last verified — and says so.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "protocol/pool_messages.hpp"

namespace tpdp {

struct CachedNodeList {
  IdentityPublicKey pool_key;  // the key that signed it when it was fetched
  std::vector<NodeDescriptor> nodes;
  std::chrono::system_clock::time_point verified_at;
};

class ListCache {
 public:
  explicit ListCache(std::filesystem::path file) : file_(std::move(file)) {}

  // Remembers a list just verified for `pool` ("host:port"). Never throws: a
  // cache that cannot be written only means no fallback later.
  void save(const std::string& pool, const CachedNodeList& list) const;
  // The list remembered for `pool`, if any and readable.
  std::optional<CachedNodeList> load(const std::string& pool) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace tpdp
