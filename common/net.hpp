// Small networking helpers shared by the node, the pool and the client.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/exit_policy.hpp"
#include "protocol/host.hpp"

namespace tpdp {

using asio::ip::tcp;
using Duration = std::chrono::steady_clock::duration;

// Completion token that yields (error_code, results...) instead of throwing
// (asio::as_tuple is still experimental in Asio 1.22).
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Resolves host:port (numeric or by name) within the deadline.
asio::awaitable<std::vector<tcp::endpoint>> resolve(const HostPort& where, Duration deadline);

// Connects to the first endpoint that `allowed` accepts (all when empty),
// within the deadline. Throws std::system_error with a tpdp::Errc:
// resolve_failed, exit_policy_refused (no endpoint allowed),
// connection_refused, connect_failed or timeout.
asio::awaitable<tcp::socket> connect_to(
    const HostPort& where, Duration deadline,
    const std::function<bool(const tcp::endpoint&)>& allowed = {});

IpAddress to_ip_address(const asio::ip::address& a);

// Addresses of this host's interfaces (getifaddrs), for the default exit policy.
std::vector<IpAddress> local_addresses();

// Binds and listens on host:port (SO_REUSEADDR; IPv6-only for v6 addresses).
tcp::acceptor listen_on(asio::any_io_executor ex, const HostPort& where);

// Closes our side gracefully after a final message: shutdown(send), then
// discard what the peer still sends until it closes, so that unread input
// does not turn our close into a reset that destroys the message. Bound it
// with with_deadline.
asio::awaitable<void> linger_close(tcp::socket& s);

// Sets TCP_NODELAY, ignoring errors (handshakes are latency bound).
void set_no_delay(tcp::socket& s);

}  // namespace tpdp
