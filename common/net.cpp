#include "common/net.hpp"

#include "common/deadline.hpp"

#include <ifaddrs.h>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace tpdp {

namespace {

// Errors ignored: F_SETFD fails only for a descriptor that is not open.
void close_on_exec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// Names are looked up with getaddrinfo on a thread of their own: Asio 1.22
// runs every lookup of an io_context on one internal thread, so one slow
// name would delay all others, and such a lookup cannot be cancelled. Here
// the coroutine polls a flag, so its deadline always holds; a lookup that
// outlives it finishes alone and is discarded.
struct Lookup {
  std::atomic<bool> done{false};
  std::vector<tcp::endpoint> endpoints;
};

// A process-wide bound on lookup threads (a resource limit, not state that
// any result depends on).
constexpr int kMaxLookupsInFlight = 64;
std::atomic<int> lookups_in_flight{0};

void run_lookup(const std::shared_ptr<Lookup>& lookup, const std::string& host,
                std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &results) == 0) {
    for (addrinfo* ai = results; ai; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      tcp::endpoint ep;
      std::memcpy(ep.data(), ai->ai_addr, ai->ai_addrlen);
      ep.resize(ai->ai_addrlen);
      lookup->endpoints.push_back(ep);
    }
    ::freeaddrinfo(results);
  }
  lookup->done.store(true, std::memory_order_release);
  --lookups_in_flight;
}

}  // namespace

asio::awaitable<std::vector<tcp::endpoint>> resolve(const HostPort& where, Duration deadline) {
  std::error_code ec;
  auto literal = asio::ip::make_address(where.host, ec);
  if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, where.port)};
  if (++lookups_in_flight > kMaxLookupsInFlight) {
    --lookups_in_flight;
    throw std::system_error(make_error_code(Errc::limit_reached),
                            "too many name lookups in flight");
  }
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread(run_lookup, lookup, where.host, where.port).detach();
  } catch (const std::system_error&) {
    --lookups_in_flight;
    throw std::system_error(make_error_code(Errc::limit_reached), "cannot start a name lookup");
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto started = std::chrono::steady_clock::now();
  while (!lookup->done.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() - started > deadline) {
      throw std::system_error(make_error_code(Errc::timeout), "name lookup timed out");
    }
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (lookup->endpoints.empty()) throw std::system_error(make_error_code(Errc::resolve_failed));
  co_return lookup->endpoints;
}

asio::awaitable<tcp::socket> connect_to(const HostPort& where, Duration deadline,
                                        const std::function<bool(const tcp::endpoint&)>& allowed) {
  auto start = std::chrono::steady_clock::now();
  auto endpoints = co_await resolve(where, deadline);
  std::vector<tcp::endpoint> permitted;
  for (const auto& ep : endpoints) {
    if (!allowed || allowed(ep)) permitted.push_back(ep);
  }
  if (permitted.empty()) throw std::system_error(make_error_code(Errc::exit_policy_refused));
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  auto left = deadline - (std::chrono::steady_clock::now() - start);
  if (left <= Duration::zero()) throw std::system_error(make_error_code(Errc::timeout));
  auto op = [&]() -> asio::awaitable<void> {
    co_await asio::async_connect(socket, permitted, asio::use_awaitable);
  };
  try {
    co_await with_deadline(op(), left);
  } catch (const std::system_error& e) {
    if (e.code() == make_error_code(Errc::timeout)) throw;
    if (e.code() == asio::error::connection_refused) {
      throw std::system_error(make_error_code(Errc::connection_refused));
    }
    throw std::system_error(make_error_code(Errc::connect_failed), e.code().message());
  }
  set_close_on_exec(socket);
  co_return socket;
}

IpAddress to_ip_address(const asio::ip::address& a) {
  IpAddress out;
  if (a.is_v4()) {
    out.v4 = true;
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return to_ip_address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    out.v4 = false;
    auto b = v6.to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

std::vector<IpAddress> local_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      out.push_back(to_ip_address(asio::ip::address_v4(b)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      out.push_back(to_ip_address(asio::ip::address_v6(b)));
    }
  }
  freeifaddrs(list);
  return out;
}

tcp::acceptor listen_on(asio::any_io_executor ex, const HostPort& where) {
  std::error_code ec;
  auto addr = asio::ip::make_address(where.host, ec);
  if (ec) {
    throw std::system_error(ec, "listen address must be an IP address, not '" + where.host + "'");
  }
  tcp::endpoint ep(addr, where.port);
  tcp::acceptor acceptor(ex);
  acceptor.open(ep.protocol());
  close_on_exec(acceptor.native_handle());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  if (addr.is_v6()) acceptor.set_option(asio::ip::v6_only(true));
  acceptor.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + format_host_port(where));
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

asio::awaitable<void> linger_close(tcp::socket& s) {
  std::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
  std::array<std::uint8_t, 4096> sink;
  // No count limit: the caller's deadline bounds it, and a peer still sending
  // must be drained until it has read our last message and stopped.
  while (!ec) {
    auto [read_ec, n] = co_await s.async_read_some(asio::buffer(sink), use_tuple);
    ec = read_ec;
  }
}

void set_no_delay(tcp::socket& s) {
  std::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
}

namespace {
void enable_keepalive_probes(int fd) {
  auto set = [fd](int level, int option, int value) {
    ::setsockopt(fd, level, option, &value, sizeof value);  // best effort
  };
  set(SOL_SOCKET, SO_KEEPALIVE, 1);
  set(IPPROTO_TCP, TCP_KEEPIDLE, kKeepaliveIdleSeconds);
  set(IPPROTO_TCP, TCP_KEEPINTVL, kKeepaliveIntervalSeconds);
  set(IPPROTO_TCP, TCP_KEEPCNT, kKeepaliveProbes);
}
}  // namespace

bool peer_has_closed(tcp::socket& s) {
  std::uint8_t byte;
  for (;;) {
    ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) return false;
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

void set_close_on_exec(tcp::socket& s) {
  close_on_exec(s.native_handle());
}

void enable_dead_link_detection(tcp::socket& s) {
  enable_keepalive_probes(s.native_handle());
}

void enable_dead_link_detection(tcp::acceptor& listening) {
  enable_keepalive_probes(listening.native_handle());
}

}  // namespace tpdp
