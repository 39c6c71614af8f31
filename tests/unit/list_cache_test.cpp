#include "client/list_cache.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

using namespace tpdp;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const char* name) {
  fs::path d = fs::temp_directory_path() /
               (std::string("tpdp-list-cache-") + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST_CASE("list cache: a saved list comes back whole, per pool, in a 0600 file", "[list_cache]") {
  fs::path dir = fresh_dir("roundtrip");
  ListCache cache(dir / "last_lists.json");
  CHECK_FALSE(cache.load("127.0.0.1:7000"));
  CachedNodeList list;
  randombytes_buf(list.pool_key.bytes.data(), list.pool_key.bytes.size());
  for (int i = 0; i < 3; ++i) {
    NodeDescriptor n;
    randombytes_buf(n.identity.bytes.data(), n.identity.bytes.size());
    randombytes_buf(n.onion_key.bytes.data(), n.onion_key.bytes.size());
    n.host = i == 2 ? "::1" : "127.0.0." + std::to_string(i + 1);
    n.port = static_cast<std::uint16_t>(7001 + i);
    list.nodes.push_back(n);
  }
  list.verified_at = std::chrono::system_clock::now();
  cache.save("127.0.0.1:7000", list);
  cache.save("127.0.0.1:7100", CachedNodeList{list.pool_key, {}, list.verified_at});
  auto back = cache.load("127.0.0.1:7000");
  REQUIRE(back);
  CHECK(back->pool_key == list.pool_key);
  CHECK(back->nodes == list.nodes);
  CHECK(std::chrono::abs(back->verified_at - list.verified_at) < std::chrono::seconds(1));
  REQUIRE(cache.load("127.0.0.1:7100"));
  CHECK(cache.load("127.0.0.1:7100")->nodes.empty());
  struct stat st {};
  REQUIRE(::stat(cache.file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  fs::remove_all(dir);
}

TEST_CASE("list cache: a damaged or doctored file gives no list", "[list_cache]") {
  fs::path dir = fresh_dir("damaged");
  fs::create_directories(dir);
  ListCache cache(dir / "last_lists.json");
  std::ofstream(cache.file()) << "{ not json";
  CHECK_FALSE(cache.load("127.0.0.1:7000"));
  std::ofstream(cache.file()) << R"({"lists":[{"key":"127.0.0.1:7000","value":{"pool_key":"zz",)"
                              << R"("verified_at":0,"nodes":[]}}]})";
  CHECK_FALSE(cache.load("127.0.0.1:7000"));
  // Saving over a damaged file starts it afresh.
  CachedNodeList list;
  list.verified_at = std::chrono::system_clock::now();
  cache.save("127.0.0.1:7000", list);
  CHECK(cache.load("127.0.0.1:7000"));
  fs::remove_all(dir);
}
