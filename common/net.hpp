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
// connection_refused, connect_failed or timeout. The socket is close-on-exec.
asio::awaitable<tcp::socket> connect_to(
    const HostPort& where, Duration deadline,
    const std::function<bool(const tcp::endpoint&)>& allowed = {});

IpAddress to_ip_address(const asio::ip::address& a);

// Addresses of this host's interfaces (getifaddrs), for the default exit policy.
std::vector<IpAddress> local_addresses();

// Marks a socket close-on-exec (Asio opens sockets without it). A program
// using the client library that starts another program must not hand it
// its circuits: a child holding the entry link would keep the circuit open
// at every node after the program closed it. connect_to and listen_on set
// it themselves; accepted sockets need it where the program may start others.
void set_close_on_exec(tcp::socket& s);

// Binds and listens on host:port (SO_REUSEADDR; IPv6-only for v6 addresses;
// close-on-exec).
tcp::acceptor listen_on(asio::any_io_executor ex, const HostPort& where);

// Closes our side gracefully after a final message: shutdown(send), then
// discard what the peer still sends until it closes, so that unread input
// does not turn our close into a reset that destroys the message. Bound it
// with with_deadline.
asio::awaitable<void> linger_close(tcp::socket& s);

// True when the peer has closed its side (or reset the connection) and no
// unread byte comes before that: one non-blocking peek, nothing consumed.
bool peer_has_closed(tcp::socket& s);

// Sets TCP_NODELAY, ignoring errors (handshakes are latency bound).
void set_no_delay(tcp::socket& s);

// How long a circuit link may be dead (its peer's host gone, a cable
// pulled) before the kernel tells us: keep-alive probes after 5 s without
// traffic, every 5 s, and the third unanswered one ends the link (about 20 s
// in all). A live but quiet peer answers the probes, so idle circuits are not
// cut by this. No TCP_USER_TIMEOUT: it also ends a link whose live peer reads
// slowly (zero window for that long), which a paused reader must not do.
inline constexpr int kKeepaliveIdleSeconds = 5;
inline constexpr int kKeepaliveIntervalSeconds = 5;
inline constexpr int kKeepaliveProbes = 3;

// Applies the above to a circuit link, ignoring errors. On a listening
// socket it applies to every connection accepted from it (Linux copies the
// options to accepted sockets), which saves four system calls per circuit.
void enable_dead_link_detection(tcp::socket& s);
void enable_dead_link_detection(tcp::acceptor& listening);

}  // namespace tpdp
