#include "client/list_cache.hpp"

#include <cereal/archives/json.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <map>
#include <sstream>

#include "common/key_store.hpp"
#include "protocol/hex.hpp"
#include "protocol/host.hpp"
#include "protocol/identity.hpp"

namespace tpdp {
namespace {

struct StoredNode {
  std::string identity, onion_key, host;
  std::uint16_t port = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(identity), CEREAL_NVP(onion_key), CEREAL_NVP(host), CEREAL_NVP(port));
  }
};

struct StoredList {
  std::string pool_key;
  std::int64_t verified_at = 0;  // seconds since the epoch
  std::vector<StoredNode> nodes;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(pool_key), CEREAL_NVP(verified_at), CEREAL_NVP(nodes));
  }
};

using Stored = std::map<std::string, StoredList>;

// Lists of a few pools at 4 MiB each, in hex.
constexpr std::size_t kMaxFileSize = 64 << 20;

Stored read_all(const std::filesystem::path& file) {
  Stored all;
  try {
    // Trusted as the known pools file is: a list planted by another user, or a
    // FIFO in its place, is no list (never a hang).
    auto text = read_trusted_file(file, kMaxFileSize, FileSecrecy::public_read, "node list cache");
    if (!text) return all;
    std::istringstream in(std::string(text->begin(), text->end()));
    cereal::JSONInputArchive archive(in);
    archive(cereal::make_nvp("lists", all));
  } catch (const std::exception&) {
    all.clear();  // damaged or untrusted: as if empty (rewritten at the next verified list)
  }
  return all;
}

}  // namespace

void ListCache::save(const std::string& pool, const CachedNodeList& list) const {
  try {
    Stored all = read_all(file_);
    StoredList s;
    s.pool_key = to_hex(list.pool_key.view());
    s.verified_at =
        std::chrono::duration_cast<std::chrono::seconds>(list.verified_at.time_since_epoch())
            .count();
    for (const auto& n : list.nodes) {
      s.nodes.push_back({to_hex(n.identity.view()), to_hex(n.onion_key.view()), n.host, n.port});
    }
    all[pool] = std::move(s);
    std::ostringstream out;
    {
      cereal::JSONOutputArchive archive(out);
      archive(cereal::make_nvp("lists", all));
    }
    std::string text = out.str() + "\n";
    ensure_data_dir(file_.parent_path());
    write_file_atomic(file_, as_bytes(text), 0600);
  } catch (const std::exception&) {
  }
}

std::optional<CachedNodeList> ListCache::load(const std::string& pool) const {
  Stored all = read_all(file_);
  auto it = all.find(pool);
  if (it == all.end()) return std::nullopt;
  const StoredList& s = it->second;
  auto key = public_from_hex<IdentityPublicKey>(s.pool_key);
  if (!key) return std::nullopt;
  CachedNodeList list;
  list.pool_key = *key;
  list.verified_at = std::chrono::system_clock::time_point(std::chrono::seconds(s.verified_at));
  for (const auto& n : s.nodes) {
    auto id = public_from_hex<IdentityPublicKey>(n.identity);
    auto onion = public_from_hex<OnionPublicKey>(n.onion_key);
    if (!id || !onion || !is_valid_host(n.host) || n.port == 0) return std::nullopt;
    list.nodes.push_back({*id, *onion, n.host, n.port});
  }
  return list;
}

}  // namespace tpdp
