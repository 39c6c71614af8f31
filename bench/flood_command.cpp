// The attacker of bench/run's "attack" item, against the first node of
// --path: `stalled` slowloris connections from 127.0.0.9 (one byte each,
// then nothing), and from 127.0.0.10 a flood of well-formed CREATEs for
// the node's real identity with fresh random keys (each costs the node its
// ntor work), one thread, as fast as it can connect (or at --rate), until
// SIGTERM or --seconds: each connection closed right after its CREATE, or
// with --wait-reply kept until the node's reply (--concurrency at once).
// Prints what it sent and how the node treated it and the stalled ones.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "bench/commands.hpp"
#include "protocol/circuit_messages.hpp"

namespace tpdp::bench {
namespace {

// SIGTERM is blocked and polled, so that it ends the flood loop (which
// blocks in connect) without a handler and the figures still get printed.
void block_sigterm() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

bool sigterm_pending() {
  sigset_t set;
  return ::sigpending(&set) == 0 && sigismember(&set, SIGTERM) == 1;
}

// A blocking TCP connection from `source` (a loopback address) to 127.0.0.1:port, or -1.
int connect_from(const char* source, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  timeval tv{1, 0};  // a full backlog must not stall the flood for long
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  // The port is picked at connect, for the whole address pair: bind() alone
  // must find a port free for any destination, a search that slows to
  // milliseconds once earlier floods left tens of thousands in TIME_WAIT.
  int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

asio::awaitable<JsonLine> run_flood(const Options& o) {
  if (o.paths.empty() || o.paths[0].empty()) throw std::invalid_argument("--path names the target");
  std::vector<std::uint16_t> target{o.paths[0][0]};  // a local: GCC 12 and co_await temporaries
  auto path = co_await path_by_ports(o.pool, target);
  std::uint16_t port = path[0].port;
  block_sigterm();

  std::vector<int> stalled;
  for (std::size_t i = 0; i < o.count; ++i) {
    int fd = connect_from("127.0.0.9", port);
    if (fd < 0) continue;
    ::send(fd, "T", 1, MSG_NOSIGNAL);
    stalled.push_back(fd);
  }
  CreateMsg create;
  create.node_id = path[0].identity;
  std::size_t sent = 0, failed_connects = 0, answered = 0, refused = 0;
  // A connection from the flooding address with a fresh CREATE sent, or -1.
  auto send_create = [&] {
    int fd = connect_from("127.0.0.10", port);
    if (fd < 0) {
      ++failed_connects;
      return -1;
    }
    randombytes_buf(create.client_public.bytes.data(), create.client_public.bytes.size());
    Bytes wire = encode_to_bytes(create);
    ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
    ++sent;
    return fd;
  };
  std::vector<int> waiting;  // --wait-reply: connections whose reply has not come yet
  auto started = Clock::now();
  // How long to hold off the next CREATE to keep to `rate` (0: no pacing).
  auto ahead_of_rate = [&] {
    return o.rate > 0 ? static_cast<double>(sent) / o.rate - seconds_since(started) : 0.0;
  };
  while (!sigterm_pending() && seconds_since(started) < o.seconds) {
    if (!o.wait_reply) {
      // Send and close at once: the node's work is wasted on a closed connection.
      double ahead = ahead_of_rate();
      if (ahead > 0.001) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
      int fd = send_create();
      if (fd >= 0) ::close(fd);
      continue;
    }
    // Up to `concurrency` handshakes at once, each waiting for the node's
    // reply (CREATED or a refusal) before it closes: every one the node
    // accepts costs it the full ntor work.
    while (waiting.size() < o.concurrency && ahead_of_rate() <= 0) {
      int fd = send_create();
      if (fd < 0) break;
      waiting.push_back(fd);
    }
    std::vector<pollfd> polls;
    for (int fd : waiting) polls.push_back({fd, POLLIN, 0});
    if (::poll(polls.data(), polls.size(), 2) <= 0) continue;
    std::vector<int> still;
    for (const auto& p : polls) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        still.push_back(p.fd);
        continue;
      }
      std::uint8_t reply[128];
      ssize_t n = ::recv(p.fd, reply, sizeof reply, MSG_DONTWAIT);
      if (n > 0 && reply[0] == 0) {
        ++answered;
      } else {
        ++refused;
      }
      ::close(p.fd);
    }
    waiting.swap(still);
  }
  for (int fd : waiting) ::close(fd);
  double secs = seconds_since(started);
  // Stalled connections the node has closed or refused by now.
  std::size_t turned_away = 0;
  for (int fd : stalled) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) ++turned_away;
    ::close(fd);
  }
  JsonLine out;
  out.add("creates_sent", static_cast<double>(sent))
      .add("creates_per_second", static_cast<double>(sent) / secs)
      .add("failed_connects", static_cast<double>(failed_connects))
      .add("answered", static_cast<double>(answered))
      .add("refused", static_cast<double>(refused))
      .add("stalled", static_cast<double>(stalled.size()))
      .add("stalled_turned_away", static_cast<double>(turned_away))
      .add("seconds", secs);
  co_return out;
}

}  // namespace tpdp::bench
