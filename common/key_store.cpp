#include "common/key_store.hpp"

#include <fcntl.h>
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

Bytes read_key_file(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw KeyStoreError("cannot read key file " + file.string() + ": " + errno_text());
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    throw KeyStoreError("key file " + file.string() + " has mode " + mode +
                        "; it must be readable by its owner only (chmod 600 " + file.string() +
                        ")");
  }
  if (st.st_size > 4096) throw KeyStoreError("key file " + file.string() + " is too large");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw KeyStoreError("cannot open key file " + file.string() + ": " + errno_text());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

template <class Decode>
auto load(const fs::path& file, Decode decode) {
  Bytes data = read_key_file(file);
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
  std::error_code ec;
  if (fs::exists(file, ec)) {
    return {load(file, [](ByteView b) { return decode_node_key_file(b); }), false, file};
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
  std::error_code ec;
  if (fs::exists(file, ec)) {
    return {load(file, [](ByteView b) { return decode_pool_key_file(b); }), false, file};
  }
  auto keys = IdentityKeypair::generate();
  Bytes data = encode_pool_key_file(keys);
  write_file_atomic(file, data, 0600);
  sodium_memzero(data.data(), data.size());
  return {std::move(keys), true, file};
}

}  // namespace tpdp
