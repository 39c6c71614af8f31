#include "circuit_driver.hpp"

#include <sys/resource.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <cstring>
#include <fstream>

#include "client/circuit.hpp"
#include "client/pool_client.hpp"
#include "common/net.hpp"
#include "common/pool_address.hpp"

namespace tpdp::test {
namespace {

using asio::ip::tcp;
constexpr std::size_t kChunk = 64 * 1024;

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

asio::awaitable<void> echo_connection(tcp::socket socket,
                                      std::shared_ptr<std::atomic<std::size_t>> open) {
  std::vector<char> buf(kChunk);
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) {
      std::error_code ignored;
      if (ec == asio::error::eof) socket.shutdown(tcp::socket::shutdown_send, ignored);
      break;
    }
    auto [write_ec, written] =
        co_await asio::async_write(socket, asio::buffer(buf.data(), n), use_tuple);
    if (write_ec) break;
  }
  --*open;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                  std::shared_ptr<std::atomic<std::size_t>> open) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) continue;  // e.g. out of descriptors for a moment
    ++*open;
    asio::co_spawn(acceptor.get_executor(), echo_connection(std::move(socket), open),
                   asio::detached);
  }
}

asio::awaitable<std::string> write_stream(std::shared_ptr<Circuit> circuit, std::size_t size,
                                          std::uint64_t seed) {
  std::vector<std::uint8_t> buf(kChunk);
  std::size_t sent = 0;
  while (sent < size) {
    std::size_t n = std::min(kChunk, size - sent);
    fill_stream(seed, sent, buf.data(), n);
    auto [ec, written] =
        co_await asio::async_write(*circuit, asio::buffer(buf.data(), n), use_tuple);
    if (ec) {
      // The link is broken: the reader learns it from its own read.
      co_return "write failed after " + std::to_string(sent) + " bytes: " + ec.message();
    }
    sent += n;
  }
  auto [ec] = co_await circuit->async_shutdown_send(use_tuple);
  if (ec) {
    co_return "END failed: " + ec.message();
  }
  co_return std::string();
}

asio::awaitable<void> read_stream(std::shared_ptr<Circuit> circuit, std::size_t size,
                                  std::uint64_t seed, EchoResult& r, const Progress& on_progress) {
  std::vector<std::uint8_t> buf(kChunk), expected(kChunk);
  for (;;) {
    auto [ec, n] = co_await circuit->async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) {
      r.clean_end = true;
      break;
    }
    if (ec) {
      r.error = "read failed after " + std::to_string(r.echoed) + " bytes: " + ec.message();
      circuit->close();
      break;
    }
    if (r.echoed + n > size) {
      r.error = "more bytes came back than were sent";
      circuit->close();
      break;
    }
    fill_stream(seed, r.echoed, expected.data(), n);
    if (std::memcmp(buf.data(), expected.data(), n) != 0) {
      std::size_t at = 0;
      while (buf[at] == expected[at]) ++at;
      r.error = "byte " + std::to_string(r.echoed + at) + " came back changed";
      circuit->close();
      break;
    }
    r.echoed += n;
    if (on_progress) on_progress(r.echoed);
  }
  r.ended = std::chrono::steady_clock::now();
}

}  // namespace

EchoServer::EchoServer()
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      open_(std::make_shared<std::atomic<std::size_t>>(0)) {
  acceptor_.listen(4096);
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(acceptor_, open_), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

EchoServer::~EchoServer() {
  io_.stop();
  thread_.join();
}

std::vector<NodeDescriptor> fetch_listed_once(const PoolAddress& pool) {
  asio::io_context io;
  std::vector<NodeDescriptor> listed;
  auto fetch = [&]() -> asio::awaitable<void> {
    auto list = co_await fetch_node_list(pool, nullptr, std::chrono::seconds(5));
    listed = list.nodes;
  };
  asio::co_spawn(io, fetch(), [](std::exception_ptr) {});
  io.run_for(std::chrono::seconds(6));
  return listed;
}

std::vector<NodeDescriptor> listed_nodes(Network& net, const std::vector<std::size_t>& indices) {
  std::string err;
  auto pool = *parse_pool_address(net.pool_address() + "@" + net.pool_fingerprint(), &err);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<NodeDescriptor> listed = fetch_listed_once(pool);
    std::vector<NodeDescriptor> ordered;
    for (auto i : indices) {
      for (const auto& n : listed) {
        if (n.port == net.node_port(i)) ordered.push_back(n);
      }
    }
    if (ordered.size() == indices.size()) return ordered;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return {};
}

void fill_stream(std::uint64_t seed, std::uint64_t offset, std::uint8_t* out, std::size_t n) {
  std::uint64_t key = mix(seed);
  std::size_t i = 0;
  while (i < n) {
    std::uint64_t pos = offset + i;
    std::uint64_t word = mix(key ^ (pos >> 3));
    for (unsigned b = pos & 7; b < 8 && i < n; ++b) {
      out[i++] = static_cast<std::uint8_t>(word >> (8 * b));
    }
  }
}

asio::awaitable<std::string> build_circuit(std::shared_ptr<Circuit> circuit,
                                           std::vector<NodeDescriptor> path, std::uint16_t port) {
  const std::string host = "127.0.0.1";
  std::string failure;
  try {
    co_await circuit->connect(path[0]);
    for (std::size_t i = 1; i < path.size(); ++i) co_await circuit->extend(path[i]);
    co_await circuit->begin(host, port);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  co_return failure;
}

asio::awaitable<EchoResult> echo_stream(std::shared_ptr<Circuit> circuit, std::size_t size,
                                        std::uint64_t seed, Progress on_progress) {
  using namespace asio::experimental::awaitable_operators;
  EchoResult r;
  r.built = true;
  std::string write_error = co_await (write_stream(circuit, size, seed) &&
                                      read_stream(circuit, size, seed, r, on_progress));
  if (r.error.empty() && !write_error.empty()) r.error = write_error;
  if (r.error.empty() && r.echoed != size) {
    r.error = "the stream ended cleanly after " + std::to_string(r.echoed) + " of " +
              std::to_string(size) + " bytes";
  }
  r.intact = r.error.empty() && r.clean_end;
  circuit->close();
  co_return r;
}

asio::awaitable<EchoResult> echo_through(std::vector<NodeDescriptor> path, std::uint16_t port,
                                         std::size_t size, std::uint64_t seed,
                                         Progress on_progress) {
  auto ex = co_await asio::this_coro::executor;
  auto circuit = std::make_shared<Circuit>(ex, CircuitOptions{std::chrono::seconds(10)});
  std::string failure = co_await build_circuit(circuit, std::move(path), port);
  if (!failure.empty()) {
    EchoResult r;
    r.error = "build failed: " + failure;
    r.ended = std::chrono::steady_clock::now();
    co_return r;
  }
  co_return co_await echo_stream(circuit, size, seed, std::move(on_progress));
}

std::size_t open_fds(int pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::size_t rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::size_t kib = 0;
      status >> kib;
      return kib;
    }
    std::getline(status, key);
  }
  return 0;
}

std::string tcp_sockets(int pid) {
  std::string out;
  FILE* ss = ::popen("ss -tanpH 2>/dev/null", "r");
  if (!ss) return "(ss unavailable)";
  char line[512];
  std::string mark = "pid=" + std::to_string(pid) + ",";
  while (std::fgets(line, sizeof line, ss)) {
    if (std::strstr(line, mark.c_str())) out += line;
  }
  ::pclose(ss);
  return out;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::size_t raise_fd_limit(std::size_t wanted) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < wanted) {
    lim.rlim_cur = std::min<rlim_t>(wanted, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

}  // namespace tpdp::test
