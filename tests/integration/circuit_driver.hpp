// In-process circuits for the fault, load and soak tests: an Asio echo server
// that takes any number of connections, and a coroutine that pushes a
// deterministic byte stream through a circuit of chosen nodes while checking
// every byte that comes back. Plus /proc readings of a node process.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "client/circuit.hpp"
#include "common/pool_address.hpp"
#include "harness.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp::test {

// Echoes every connection back (half-close aware), on its own thread.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  std::uint16_t port() const { return port_; }
  std::size_t open_connections() const { return open_->load(); }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<std::atomic<std::size_t>> open_;
  std::thread thread_;
};

// The nodes the pool lists, in the order of the network's node indices
// (matched by port); empty if not all `indices` are listed within 10 s.
std::vector<NodeDescriptor> listed_nodes(Network& net, const std::vector<std::size_t>& indices);
// One verified fetch of the pool's list (a 5 s fetch, 6 s in all); empty on failure.
std::vector<NodeDescriptor> fetch_listed_once(const PoolAddress& pool);

struct EchoResult {
  bool built = false;
  bool intact = false;     // every byte came back equal, then a clean end
  bool clean_end = false;  // the exit's END arrived (whatever the bytes)
  std::size_t echoed = 0;  // bytes read back that matched
  std::string error;       // what ended it, when not intact
  std::chrono::steady_clock::time_point ended;
};

// Byte `offset` of the test stream `seed` (cheap to regenerate anywhere).
void fill_stream(std::uint64_t seed, std::uint64_t offset, std::uint8_t* out, std::size_t n);

using Progress = std::function<void(std::size_t echoed)>;

// Builds `path` to 127.0.0.1:port; the error text, or empty on success. Never throws.
asio::awaitable<std::string> build_circuit(std::shared_ptr<Circuit> circuit,
                                           std::vector<NodeDescriptor> path, std::uint16_t port);

// On a built circuit: writes `size` bytes of stream `seed` and an END while
// reading the echo back and comparing it. Never throws.
asio::awaitable<EchoResult> echo_stream(std::shared_ptr<Circuit> circuit, std::size_t size,
                                        std::uint64_t seed, Progress on_progress = {});

// build_circuit, then echo_stream. Builds `path` to 127.0.0.1:port, then writes `size` bytes of
// stream `seed` and an END while reading the echo back and comparing it. Never throws.
asio::awaitable<EchoResult> echo_through(std::vector<NodeDescriptor> path, std::uint16_t port,
                                         std::size_t size, std::uint64_t seed,
                                         Progress on_progress = {});

// Readings of a process (Linux /proc).
std::size_t open_fds(int pid);
std::size_t rss_kib(int pid);
// The TCP sockets of a process with their states (from `ss`), for failure messages.
std::string tcp_sockets(int pid);

// Polls pred() every 50 ms until it holds or the timeout passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Raises this process's descriptor limit (inherited by what it starts) to
// at least `wanted`, up to the hard limit; returns the new soft limit.
std::size_t raise_fd_limit(std::size_t wanted);

}  // namespace tpdp::test
