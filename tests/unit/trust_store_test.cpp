#include "client/trust_store.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "protocol/identity.hpp"

using namespace tpdp;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/tpdp-trust-store-test-XXXXXX";
    REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

IdentityPublicKey key_of(std::uint8_t fill) {
  IdentityPublicKey k;
  k.bytes.fill(fill);
  return k;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

}  // namespace

TEST_CASE("trust store: first use, known, changed", "[trust_store]") {
  TempDir dir;
  fs::path file = dir.path() / "known_pools.json";
  TrustStore store(file);
  CHECK(store.file() == file);
  CHECK(store.remembered("pool.example:7000").empty());
  CHECK_FALSE(fs::exists(file));  // nothing written until something is learnt

  CHECK(store.check("pool.example:7000", key_of(1)) == TrustStore::Verdict::first_use);
  CHECK(store.remembered("pool.example:7000") == fingerprint(key_of(1)));
  CHECK(store.check("pool.example:7000", key_of(1)) == TrustStore::Verdict::known);
  CHECK(store.check("pool.example:7000", key_of(2)) == TrustStore::Verdict::changed);
  // A changed key is not learnt.
  CHECK(store.remembered("pool.example:7000") == fingerprint(key_of(1)));
  CHECK(store.check("pool.example:7000", key_of(1)) == TrustStore::Verdict::known);

  // Addresses are independent.
  CHECK(store.check("[::1]:7000", key_of(2)) == TrustStore::Verdict::first_use);
  CHECK(store.check("pool.example:7001", key_of(1)) == TrustStore::Verdict::first_use);
  CHECK(store.remembered("[::1]:7000") == fingerprint(key_of(2)));
}

TEST_CASE("trust store: file is private and survives a reload", "[trust_store]") {
  TempDir dir;
  fs::path data = dir.path() / "data" / "nested";  // created on first save
  fs::path file = data / "known_pools.json";
  {
    TrustStore store(file);
    CHECK(store.check("a.example:1", key_of(0xab)) == TrustStore::Verdict::first_use);
    CHECK(store.check("b.example:2", key_of(0xcd)) == TrustStore::Verdict::first_use);
  }
  REQUIRE(fs::exists(file));
  CHECK(mode_of(file) == 0600);
  CHECK(mode_of(data) == 0700);
  std::string text = read_text(file);
  CHECK(text.find("\"pools\"") != std::string::npos);
  CHECK(text.find("\"key\": \"a.example:1\"") != std::string::npos);
  CHECK(text.find(fingerprint(key_of(0xab))) != std::string::npos);
  // No temporary files left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(data)) ++entries;
  CHECK(entries == 1);

  TrustStore again(file);
  CHECK(again.remembered("a.example:1") == fingerprint(key_of(0xab)));
  CHECK(again.remembered("b.example:2") == fingerprint(key_of(0xcd)));
  CHECK(again.check("a.example:1", key_of(0xab)) == TrustStore::Verdict::known);
  CHECK(again.check("b.example:2", key_of(0xab)) == TrustStore::Verdict::changed);
  CHECK(again.check("c.example:3", key_of(0xef)) == TrustStore::Verdict::first_use);
  CHECK(mode_of(file) == 0600);

  TrustStore third(file);
  CHECK(third.check("c.example:3", key_of(0xef)) == TrustStore::Verdict::known);
}

TEST_CASE("trust store: a corrupt file is an error", "[trust_store]") {
  TempDir dir;
  fs::path file = dir.path() / "known_pools.json";
  for (std::string text : {std::string("not json at all"), std::string("{\"pools\": [1, 2"),
                           std::string("{\"other\": {}}"), std::string("{\"pools\": 5}"),
                           std::string("{\"pools\": [{\"key\": 1}]}"), std::string("")}) {
    INFO("file: " << text);
    write_text(file, text);
    CHECK_THROWS_AS(TrustStore(file), std::runtime_error);
    try {
      TrustStore s(file);
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
    }
  }
  // A valid, empty file loads.
  write_text(file, "{\"pools\": []}\n");
  TrustStore empty(file);
  CHECK(empty.remembered("x:1").empty());
  // The format cereal writes: an array of key/value objects.
  write_text(file,
             "{\"pools\": [{\"key\": \"x:1\", \"value\": \"" + fingerprint(key_of(7)) + "\"}]}\n");
  TrustStore one(file);
  CHECK(one.remembered("x:1") == fingerprint(key_of(7)));
  CHECK(one.check("x:1", key_of(7)) == TrustStore::Verdict::known);

  // Upper-case hex is a fingerprint too (section 4.2): the same key, not an impostor.
  std::string upper = fingerprint(key_of(0xab));
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  write_text(file, "{\"pools\": [{\"key\": \"x:1\", \"value\": \"" + upper + "\"}]}\n");
  TrustStore upper_case(file);
  CHECK(upper_case.check("x:1", key_of(0xab)) == TrustStore::Verdict::known);

  // A value that is no fingerprint is refused, naming the entry.
  write_text(file, "{\"pools\": [{\"key\": \"x:1\", \"value\": \"zz\"}]}\n");
  try {
    TrustStore bad(file);
    FAIL("a file with the fingerprint 'zz' was accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("the entry for x:1 is not a fingerprint") !=
          std::string::npos);
  }
}

TEST_CASE("trust store: refused when others could have written it, or when it is no file",
          "[trust_store]") {
  TempDir dir;
  fs::path file = dir.path() / "known_pools.json";
  write_text(file, "{\"pools\": []}\n");
  for (unsigned mode : {0666u, 0602u, 0606u, 0646u}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(::chmod(file.c_str(), mode) == 0);
    try {
      TrustStore s(file);
      FAIL("loaded a known pools file of mode " << std::oct << mode);
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("must not be writable by group or others (chmod 600 " +
                                       file.string() + ")") != std::string::npos);
    }
  }
  // Fingerprints are no secret: readable by others is fine.
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  CHECK_NOTHROW(TrustStore(file));

  // Group write: harmless for the user's private group (root's, here), refused otherwise.
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
    REQUIRE(::chmod(file.c_str(), 0660) == 0);
    REQUIRE(::chown(dir.path().c_str(), 0, 0) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0770) == 0);
    CHECK_NOTHROW(TrustStore(file));
    REQUIRE(::chown(file.c_str(), 0, nobody->pw_gid) == 0);
    CHECK_THROWS_WITH(TrustStore(file), Catch::Contains("has mode 660"));
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
    REQUIRE(::chown(dir.path().c_str(), 0, nobody->pw_gid) == 0);
    CHECK_THROWS_WITH(TrustStore(file), Catch::Contains("has mode 0770"));
    REQUIRE(::chown(dir.path().c_str(), 0, 0) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
    REQUIRE(::chmod(file.c_str(), 0600) == 0);
  }

  // A FIFO is refused at once (opened without blocking), never waited on.
  fs::remove(file);
  REQUIRE(::mkfifo(file.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(TrustStore(file), Catch::Contains("is a FIFO, not a regular file"));

  // Its directory must not be writable by others either.
  fs::remove(file);
  write_text(file, "{\"pools\": []}\n");
  ::chmod(file.c_str(), 0600);
  REQUIRE(::chmod(dir.path().c_str(), 01777) == 0);
  CHECK_THROWS_WITH(TrustStore(file), Catch::Contains("has mode 1777"));
  REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
}
