#include "common/key_store.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace tpdp {
namespace fs = std::filesystem;
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// "nobody (uid 65534)", or "uid 1234" for a uid with no name.
std::string user_text(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) {
    return std::string(pw->pw_name) + " (uid " + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

// The name chown wants for the running user.
std::string running_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? std::string(pw->pw_name) : std::to_string(::geteuid());
}

bool owned_by_us_or_root(const struct stat& st) {
  return st.st_uid == ::geteuid() || st.st_uid == 0;
}

// A user private group (the user's primary group, with no other member: the
// default on Debian and Ubuntu, whose umask 002 makes new directories group
// writable) gives nobody else write access. Like Debian's OpenSSH
// (user-group-modes), such a group's write bit is harmless.
bool group_is_private(gid_t gid) {
  const passwd* me = ::getpwuid(::geteuid());
  if (me == nullptr || me->pw_gid != gid) return false;
  const std::string my_name = me->pw_name;
  const group* g = ::getgrgid(gid);
  if (g == nullptr) return false;
  for (char** member = g->gr_mem; *member != nullptr; ++member) {
    if (my_name != *member) return false;
  }
  return true;
}

// Whether users other than the owner (and root) can write it.
bool others_can_write(const struct stat& st) {
  if ((st.st_mode & S_IWOTH) != 0) return true;
  return (st.st_mode & S_IWGRP) != 0 && !group_is_private(st.st_gid);
}

const char* file_type_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The directory a file is in, as a path stat() understands.
fs::path directory_of(const fs::path& file) {
  fs::path dir = file.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

template <class Decode>
auto load(const fs::path& file, Bytes data, Decode decode) {
  auto decoded = decode(data);
  sodium_memzero(data.data(), data.size());
  if (!is_value(decoded)) {
    std::string why = is_malformed(decoded) ? std::get<Malformed>(decoded).reason : "truncated";
    throw KeyStoreError("refusing to start: key file " + file.string() + " is unusable (" + why +
                        "). Restore it from a backup, or move it away to create a new identity.");
  }
  return std::move(std::get<0>(decoded));
}

}  // namespace

void check_trusted_dir(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    throw KeyStoreError("cannot check directory " + dir.string() + ": " + errno_text());
  }
  if (!owned_by_us_or_root(st)) {
    throw KeyStoreError("directory " + dir.string() + " is owned by " + user_text(st.st_uid) +
                        ", not by this user or root, who could replace the files in it (chown " +
                        running_user() + " " + dir.string() + ")");
  }
  if (others_can_write(st)) {
    throw KeyStoreError("directory " + dir.string() + " has mode " + mode_text(st.st_mode) +
                        ": group or others could replace the files in it (chmod go-w " +
                        dir.string() + ")");
  }
  std::error_code ec;
  fs::path real = fs::canonical(dir, ec);
  if (ec) return;
  for (fs::path up = real.parent_path(); !up.empty(); up = up.parent_path()) {
    if (::stat(up.c_str(), &st) == 0 && (st.st_mode & S_IWOTH) != 0 &&
        (st.st_mode & S_ISVTX) == 0) {
      throw KeyStoreError("directory " + up.string() + " above " + dir.string() + " has mode " +
                          mode_text(st.st_mode) +
                          ": anyone could rename what is in it (chmod o-w " + up.string() + ")");
    }
    if (up == up.root_path()) break;
  }
}

std::optional<Bytes> read_trusted_file(const fs::path& file, std::size_t max_size,
                                       FileSecrecy secrecy, const std::string& what) {
  const std::string name = what + " " + file.string();
  std::error_code ec;
  if (fs::is_directory(directory_of(file), ec)) check_trusted_dir(directory_of(file));
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw KeyStoreError("cannot open " + name + ": " + errno_text());
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw KeyStoreError("cannot check " + name + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) {
    throw KeyStoreError(name + " is " + file_type_text(st.st_mode) +
                        ", not a regular file (remove it, or put the file itself there)");
  }
  if (!owned_by_us_or_root(st)) {
    throw KeyStoreError(name + " is owned by " + user_text(st.st_uid) +
                        ", not by this user or root, who may have written it (chown " +
                        running_user() + " " + file.string() + ", or remove it)");
  }
  if (secrecy == FileSecrecy::secret && (st.st_mode & 077) != 0) {
    throw KeyStoreError(name + " has mode " + mode_text(st.st_mode).substr(1) +
                        "; it must be readable by its owner only (chmod 600 " + file.string() +
                        ")");
  }
  if (secrecy == FileSecrecy::public_read && others_can_write(st)) {
    throw KeyStoreError(name + " has mode " + mode_text(st.st_mode).substr(1) +
                        "; it must not be writable by group or others (chmod 600 " + file.string() +
                        ")");
  }
  // A symlink: the directory its target is in must be as safe as the link's.
  fs::path target = fs::canonical(file, ec);
  if (!ec && directory_of(target) != fs::canonical(directory_of(file), ec)) {
    check_trusted_dir(directory_of(target));
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_size) {
    throw KeyStoreError(name + " is too large");
  }
  // One byte more than fstat said: a file that grows meanwhile is noticed.
  Bytes data(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errno_text();
      sodium_memzero(data.data(), data.size());
      throw KeyStoreError("cannot read " + name + ": " + why);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == data.size()) {
    sodium_memzero(data.data(), data.size());
    throw KeyStoreError(name + " changed while it was read");
  }
  data.resize(got);
  return data;
}

void ensure_data_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      throw KeyStoreError("cannot create data directory " + dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  if (!fs::is_directory(dir, ec)) {
    throw KeyStoreError("data directory " + dir.string() + " is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw KeyStoreError("data directory " + dir.string() + " is not writable: " + errno_text());
  }
  check_trusted_dir(dir);
}

void write_file_atomic(const fs::path& file, ByteView data, unsigned mode) {
  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw KeyStoreError("cannot create " + tmp.string() + ": " + errno_text());
  ::fchmod(fd, mode);
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw KeyStoreError("cannot write " + file.string() + ": " + why);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw KeyStoreError("cannot write " + file.string() + ": " + why);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw KeyStoreError("cannot write " + file.string() + ": " + why);
  }
}

LoadedNodeKeys load_or_create_node_keys(const fs::path& data_dir) {
  ensure_data_dir(data_dir);
  fs::path file = data_dir / "node.key";
  if (auto existing = read_trusted_file(file, 4096, FileSecrecy::secret, "key file")) {
    return {load(file, std::move(*existing), [](ByteView b) { return decode_node_key_file(b); }),
            false, file};
  }
  NodeKeys keys{IdentityKeypair::generate(), OnionKeypair::generate()};
  Bytes data = encode_node_key_file(keys);
  write_file_atomic(file, data, 0600);
  sodium_memzero(data.data(), data.size());
  return {std::move(keys), true, file};
}

LoadedPoolKey load_or_create_pool_key(const fs::path& data_dir) {
  ensure_data_dir(data_dir);
  fs::path file = data_dir / "pool.key";
  if (auto existing = read_trusted_file(file, 4096, FileSecrecy::secret, "key file")) {
    return {load(file, std::move(*existing), [](ByteView b) { return decode_pool_key_file(b); }),
            false, file};
  }
  auto keys = IdentityKeypair::generate();
  Bytes data = encode_pool_key_file(keys);
  write_file_atomic(file, data, 0600);
  sodium_memzero(data.data(), data.size());
  return {std::move(keys), true, file};
}

}  // namespace tpdp
