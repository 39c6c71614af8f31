#include "node/v0_1_relay.hpp"

#include <algorithm>

#include "common/deadline.hpp"
#include "common/net.hpp"
#include "protocol/v0_1/wire.hpp"

namespace tpdp {

namespace {

using Clock = std::chrono::steady_clock;

// Reads until `into` holds at least n bytes, applying `layer` to what is read.
asio::awaitable<void> read_at_least(tcp::socket& from, Bytes& into, std::size_t n,
                                    LayerCipher* layer) {
  std::array<std::uint8_t, 256> buf;
  while (into.size() < n) {
    std::size_t got = co_await from.async_read_some(asio::buffer(buf), asio::use_awaitable);
    if (layer) layer->apply(buf.data(), got);
    into.insert(into.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
  }
}

// Throws Errc::timeout once no byte has moved for `idle`. (A TPDP/0.1
// circuit is one coroutine chain that ends with both directions, so it keeps
// a timer of its own rather than the node's IdleSweeper.)
asio::awaitable<void> idle_watchdog(CircuitStats& stats, Clock::duration idle) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto tick = std::max<Clock::duration>(idle / 4, std::chrono::milliseconds(50));
  for (;;) {
    timer.expires_after(tick);
    co_await timer.async_wait(asio::use_awaitable);
    if (Clock::now() - stats.last_activity > idle) {
      throw std::system_error(make_error_code(Errc::timeout), "circuit idle");
    }
  }
}

// Copies bytes one way, applying the layer, until EOF (no half-close in
// TPDP/0.1: returning ends the other direction too) or an error.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, LayerCipher& layer,
                           std::uint64_t& counter, RelayContext ctx) {
  for (;;) {
    BufferPool::Lease lease;
    auto n = read_now(from, ctx.buffers, lease, 0, BufferPool::kBufferSize);
    if (!n) {
      co_await from.async_wait(tcp::socket::wait_read, asio::use_awaitable);
      continue;
    }
    if (*n == 0) {
      std::error_code ec;
      to.shutdown(tcp::socket::shutdown_send, ec);  // the peer sees the end at once
      co_return;
    }
    layer.apply(lease.data(), *n);
    co_await asio::async_write(to, asio::buffer(lease.data(), *n), asio::use_awaitable);
    counter += *n;
    ctx.stats.last_activity = Clock::now();
  }
}

bool starts_with_hello(const Bytes& b) {
  return b.size() >= v0_1::kHello.size() &&
         std::equal(v0_1::kHello.begin(), v0_1::kHello.end(), b.begin());
}

[[noreturn]] void not_a_node(const char* which) {
  throw std::system_error(make_error_code(Errc::protocol_error),
                          std::string(which) +
                              " did not start with the TPDP/0.1 Hello: the destination is allowed "
                              "only as a next node");
}

// The Hello check for a destination allowed only as a next node. Only the
// Hello goes through until the destination has answered with one; what the
// client sent after it stays in `early` for the relay.
asio::awaitable<void> check_hellos(tcp::socket& up, tcp::socket& down, v0_1::HopLayers& layers,
                                   Bytes& early, std::chrono::milliseconds timeout,
                                   CircuitStats& stats) {
  const std::size_t n = v0_1::kHello.size();
  auto client_hello = read_at_least(up, early, n, &layers.forward);
  co_await with_deadline(std::move(client_hello), timeout);
  if (!starts_with_hello(early)) not_a_node("the client's stream");
  co_await asio::async_write(down, asio::buffer(early.data(), n), asio::use_awaitable);
  stats.bytes_forward += n;
  early.erase(early.begin(), early.begin() + static_cast<std::ptrdiff_t>(n));
  Bytes reply;
  auto node_hello = read_at_least(down, reply, n, nullptr);
  co_await with_deadline(std::move(node_hello), timeout);
  if (!starts_with_hello(reply)) not_a_node("the destination's answer");
  // All of it goes back (the next node may have said more), on the backward stream.
  layers.backward.apply(reply);
  co_await asio::async_write(up, asio::buffer(reply), asio::use_awaitable);
  stats.bytes_backward += reply.size();
}

asio::awaitable<void> forward_direction(tcp::socket& up, tcp::socket& down, LayerCipher& layer,
                                        const Bytes& early, RelayContext ctx) {
  if (!early.empty()) {
    co_await asio::async_write(down, asio::buffer(early), asio::use_awaitable);
    ctx.stats.bytes_forward += early.size();
  }
  co_await pump(up, down, layer, ctx.stats.bytes_forward, ctx);
}

asio::awaitable<void> both_directions(tcp::socket& up, tcp::socket& down, v0_1::HopLayers& layers,
                                      const Bytes& early, RelayContext ctx) {
  // No half-close: whichever direction ends first ends the other.
  co_await first_of(forward_direction(up, down, layers.forward, early, ctx),
                    pump(down, up, layers.backward, ctx.stats.bytes_backward, ctx));
}

}  // namespace

asio::awaitable<void> relay_v0_1(tcp::socket& up, tcp::socket& down, v0_1::HopLayers layers,
                                 Bytes early_forward, V01RelayOptions options, RelayContext ctx) {
  if (options.next_hop_only) {
    co_await check_hellos(up, down, layers, early_forward, options.hello_timeout, ctx.stats);
    ctx.stats.last_activity = Clock::now();
  }
  co_await first_of(both_directions(up, down, layers, early_forward, ctx),
                    idle_watchdog(ctx.stats, ctx.idle_timeout));
}

}  // namespace tpdp
