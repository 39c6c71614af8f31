// Key files and trust stores are trusted only as OpenSSH's StrictModes trusts
// a key (spec 4.5): a regular file owned by the running user or root, in a
// directory nobody else can change; a key readable by nobody else, a trust
// store writable by nobody else. Anything else (a FIFO, a directory, a device,
// a planted file) stops the program at once with one line naming the file and
// the fix, exit 1: never a hang, never a silent start.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>

#include "harness.hpp"

using namespace tpdp::test;

namespace {

fs::path proxy_bin() {
  return fs::path(TPDP_CLIENT_BIN).parent_path().parent_path() / "examples" / "tpdp-http-proxy";
}

struct Run {
  std::optional<int> status;  // nullopt: still running after the bound (then killed)
  std::string err;
};

// Runs a program for at most `bound`; a program still running then is a failure
// of every test here (it would have hung, or started on a file it must refuse).
Run run(const TempDir& dir, std::vector<std::string> argv, const std::string& name,
        std::chrono::milliseconds bound = 5s) {
  Process p(std::move(argv), dir / (name + ".out"), dir / (name + ".err"));
  auto status = p.wait_exit(bound);
  return {status, p.stderr_text()};
}

// The four ways a program meets a file of this kind, each with data dir `data`.
struct Reader {
  std::string name;  // what the test calls it
  std::string file;  // the file's name in the data dir
  std::string kind;  // how errors call it
  std::function<std::vector<std::string>(const fs::path& data)> argv;
};

std::vector<Reader> readers() {
  auto listen = [] { return "127.0.0.1:" + std::to_string(free_port()); };
  return {
      {"pool", "pool.key", "key file",
       [=](const fs::path& d) {
         return std::vector<std::string>{bin("pool"), "--listen", listen(), "--data-dir",
                                         d.string()};
       }},
      {"node", "node.key", "key file",
       [=](const fs::path& d) {
         return std::vector<std::string>{bin("node"), "--listen", listen(), "--data-dir",
                                         d.string()};
       }},
      // The node's own trust store: the keys of the pools whose lists it extends to.
      {"node-trust", "known_pools.json", "known pools file",
       [=](const fs::path& d) {
         return std::vector<std::string>{bin("node"),   "--listen",   listen(),  "--pool",
                                         "127.0.0.1:1", "--data-dir", d.string()};
       }},
      {"client", "known_pools.json", "known pools file",
       [](const fs::path& d) {
         return std::vector<std::string>{bin("client"), "--pool",   "127.0.0.1:1",
                                         "--data-dir",  d.string(), "nodes"};
       }},
      {"http-proxy", "known_pools.json", "known pools file",
       [=](const fs::path& d) {
         return std::vector<std::string>{proxy_bin().string(), "--listen",   listen(),  "--pool",
                                         "127.0.0.1:1",        "--data-dir", d.string()};
       }},
  };
}

// A file each reader accepts: a key made by the program itself, or an empty trust store.
void make_valid_file(const TempDir& dir, const Reader& r, const fs::path& data) {
  fs::create_directories(data);
  ::chmod(data.c_str(), 0700);
  if (r.file == "known_pools.json") {
    write_file(data / r.file, "{\"pools\": []}\n");
    ::chmod((data / r.file).c_str(), 0600);
    return;
  }
  auto made = run(dir, {bin(r.name.c_str()), "--data-dir", data.string(), "--print-fingerprint"},
                  r.name + "-make");
  REQUIRE(made.status == 0);
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE(
    "a FIFO, a directory or /dev/null in place of a key file or trust store: refused at once") {
  TempDir dir;
  struct Special {
    std::string name, is;
    std::function<void(const fs::path&)> make;
  };
  const std::vector<Special> specials = {
      {"fifo", "is a FIFO", [](const fs::path& f) { REQUIRE(::mkfifo(f.c_str(), 0600) == 0); }},
      {"directory", "is a directory",
       [](const fs::path& f) { REQUIRE(::mkdir(f.c_str(), 0700) == 0); }},
      {"dev-null", "is a character device",
       [](const fs::path& f) { fs::create_symlink("/dev/null", f); }},
  };
  for (const auto& r : readers()) {
    for (const auto& s : specials) {
      INFO(r.name << " with " << r.file << " as " << s.name);
      fs::path data = dir / (r.name + "-" + s.name);
      fs::create_directories(data);
      ::chmod(data.c_str(), 0700);
      s.make(data / r.file);
      auto result = run(dir, r.argv(data), r.name + "-" + s.name);
      INFO(result.err);
      REQUIRE(result.status);  // no hang: the program ended within 5 s
      CHECK(*result.status == 1);
      CHECK(result.err.find(r.kind + " " + (data / r.file).string() + " " + s.is +
                            ", not a regular file") != std::string::npos);
      CHECK(lines(result.err) == 1);
    }
  }
}

TEST_CASE("a FIFO in place of the client's list cache is no cache, and no hang") {
  TempDir dir;
  Network net(dir);  // no node: an empty list is saved like any other
  REQUIRE(net.client({"nodes"}, "", 10s).exit_code == 0);  // creates the client's data dir
  fs::path cache = net.client_dir() / "last_lists.json";
  fs::remove(cache);
  REQUIRE(::mkfifo(cache.c_str(), 0600) == 0);
  // Saving the fetched list reads the cache first: that read must not wait for a writer.
  auto r = net.client({"nodes"}, "", 10s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("lists no live nodes") != std::string::npos);
}

TEST_CASE(
    "a data directory others can write is refused, and so is one below a directory anyone can "
    "rename in") {
  TempDir dir;
  for (const auto& r : readers()) {
    for (unsigned mode : {01777u, 0777u, 0703u}) {
      char mode_text[8];
      std::snprintf(mode_text, sizeof mode_text, "%04o", mode);
      INFO(r.name << " with its data dir at mode " << mode_text);
      fs::path data = dir / (r.name + "-" + mode_text);
      make_valid_file(dir, r, data);
      REQUIRE(::chmod(data.c_str(), mode) == 0);
      auto result = run(dir, r.argv(data), r.name + "-" + mode_text);
      INFO(result.err);
      REQUIRE(result.status);
      CHECK(*result.status == 1);
      CHECK(result.err.find("directory " + data.string() + " has mode " + mode_text +
                            ": group or others could replace the files in it (chmod go-w " +
                            data.string() + ")") != std::string::npos);
      CHECK(lines(result.err) == 1);
    }
    // The data dir is fine, but the directory above it lets anyone rename it away.
    INFO(r.name << " below a mode 0777 directory");
    fs::path open = dir / (r.name + "-open");
    fs::create_directories(open);
    make_valid_file(dir, r, open / "data");
    REQUIRE(::chmod(open.c_str(), 0777) == 0);
    auto result = run(dir, r.argv(open / "data"), r.name + "-below-open");
    INFO(result.err);
    REQUIRE(result.status);
    CHECK(*result.status == 1);
    CHECK(result.err.find("directory " + open.string() + " above " + (open / "data").string() +
                          " has mode 0777") != std::string::npos);
    ::chmod(open.c_str(), 0700);
  }
}

TEST_CASE("key files and trust stores owned by another user are refused") {
  if (::geteuid() != 0) {
    WARN("skipped: only root can give a file to another user (chown); run as root to test this");
    return;
  }
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  TempDir dir;
  for (const auto& r : readers()) {
    INFO(r.name << " with " << r.file << " owned by nobody");
    fs::path data = dir / (r.name + "-planted");
    make_valid_file(dir, r, data);
    fs::path file = data / r.file;
    REQUIRE(::chown(file.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    auto result = run(dir, r.argv(data), r.name + "-planted");
    INFO(result.err);
    REQUIRE(result.status);
    CHECK(*result.status == 1);
    CHECK(result.err.find(r.kind + " " + file.string() + " is owned by nobody (uid " +
                          std::to_string(nobody->pw_uid) + "), not by this user or root") !=
          std::string::npos);
    CHECK(result.err.find("(chown root " + file.string()) != std::string::npos);
    CHECK(lines(result.err) == 1);

    // The file back to root, its directory to nobody: refused as well.
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
    REQUIRE(::chown(data.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    result = run(dir, r.argv(data), r.name + "-planted-dir");
    INFO(result.err);
    REQUIRE(result.status);
    CHECK(*result.status == 1);
    CHECK(result.err.find("directory " + data.string() + " is owned by nobody") !=
          std::string::npos);

    // Back to root, writable by a group that is not root's private group: refused.
    REQUIRE(::chown(data.c_str(), 0, nobody->pw_gid) == 0);
    REQUIRE(::chmod(data.c_str(), 0770) == 0);
    result = run(dir, r.argv(data), r.name + "-group-dir");
    INFO(result.err);
    REQUIRE(result.status);
    CHECK(*result.status == 1);
    CHECK(result.err.find("directory " + data.string() + " has mode 0770") != std::string::npos);
  }
}

TEST_CASE(
    "the known pools file: 0666 is refused like a 0644 key file, 0644 is fine, new ones are 0600") {
  TempDir dir;
  Network net(dir);
  REQUIRE(net.client({"nodes"}, "", 10s).exit_code == 0);  // trusted on first use: written
  fs::path known = net.client_dir() / "known_pools.json";
  struct stat st {};
  REQUIRE(::stat(known.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  for (unsigned mode : {0666u, 0622u, 0602u}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(::chmod(known.c_str(), mode) == 0);
    auto r = net.client({"nodes"}, "", 10s);
    CHECK(r.exit_code == 1);
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "%03o", mode);
    CHECK(r.err == "tpdp-client: error: known pools file " + known.string() + " has mode " +
                       mode_text + "; it must not be writable by group or others (chmod 600 " +
                       known.string() + ")\n");
  }
  // Readable by others is fine: it holds fingerprints, no secret (as ssh's known_hosts).
  REQUIRE(::chmod(known.c_str(), 0644) == 0);
  CHECK(net.client({"nodes"}, "", 10s).exit_code == 0);

  // A key file readable by others is refused, as before.
  fs::path pool_key = dir / "pool" / "pool.key";
  REQUIRE(::chmod(pool_key.c_str(), 0644) == 0);
  auto r = run(dir,
               {bin("pool"), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--data-dir",
                (dir / "pool").string()},
               "pool-0644");
  REQUIRE(r.status);
  CHECK(*r.status == 1);
  CHECK(r.err == "tpdp-pool: error: key file " + pool_key.string() +
                     " has mode 644; it must be readable by its owner only (chmod 600 " +
                     pool_key.string() + ")\n");
}
