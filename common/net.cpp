#include "common/net.hpp"

#include "common/deadline.hpp"

#include <ifaddrs.h>

#include <netinet/in.h>
#include <cstring>

namespace tpdp {

asio::awaitable<std::vector<tcp::endpoint>> resolve(const HostPort& where, Duration deadline) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto op = [&]() -> asio::awaitable<tcp::resolver::results_type> {
    co_return co_await resolver.async_resolve(where.host, std::to_string(where.port),
                                              asio::use_awaitable);
  };
  tcp::resolver::results_type results;
  try {
    results = co_await with_deadline(op(), deadline);
  } catch (const std::system_error& e) {
    if (e.code() == make_error_code(Errc::timeout)) throw;
    throw std::system_error(make_error_code(Errc::resolve_failed));
  }
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  if (out.empty()) throw std::system_error(make_error_code(Errc::resolve_failed));
  co_return out;
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
  for (int i = 0; i < 256 && !ec; ++i) {
    auto [read_ec, n] = co_await s.async_read_some(asio::buffer(sink), use_tuple);
    ec = read_ec;
  }
}

void set_no_delay(tcp::socket& s) {
  std::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
}

}  // namespace tpdp
