#include "node/relay.hpp"

#include <sys/socket.h>
#include <asio/experimental/awaitable_operators.hpp>

#include <cerrno>
#include <cstring>

#include "common/deadline.hpp"
#include "common/net.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/errors.hpp"

namespace tpdp {
namespace {

using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

struct ExitAbort {
  std::error_code code;
  std::string reason;
};

void shutdown_send(tcp::socket& s) {
  std::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
}

// Whether `s` has bytes or an end waiting, without taking them. Asio's
// reactor is edge-triggered and async_wait does not look at the socket first:
// readiness that arrived while no operation was waiting (say, the peer's FIN
// while this direction was busy writing) would never be reported again.
bool has_input(tcp::socket& s) {
  std::uint8_t probe;
  ssize_t n = ::recv(s.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

// Reads what `from` has without blocking, waiting for readability first when
// nothing is there. Returns 0 on EOF. The buffer is taken only once bytes are
// waiting, and given back (when it holds nothing: offset 0) before waiting,
// so an idle circuit holds none; while bytes flow it is kept and reused.
asio::awaitable<std::size_t> read_when_ready(tcp::socket& from, BufferPool& pool,
                                             BufferPool::Lease& lease, std::size_t offset,
                                             std::size_t max) {
  bool woken = false;  // async_wait just reported readiness: no need to probe
  for (;;) {
    if (!lease) {
      if (!woken && !has_input(from)) {
        co_await from.async_wait(tcp::socket::wait_read, asio::use_awaitable);
      }
      lease = pool.acquire();
    }
    std::error_code ec;
    std::size_t n = from.read_some(asio::buffer(lease.data() + offset, max), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // Nothing between this read and the wait below returns to the event
      // loop, so no readiness can be lost in between.
      if (offset == 0) lease.reset();
      co_await from.async_wait(tcp::socket::wait_read, asio::use_awaitable);
      woken = true;
      continue;
    }
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw std::system_error(ec);
    co_return n;
  }
}

}  // namespace

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

// Copies bytes one way, applying a layer (peel or add: XOR is symmetric).
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, LayerCipher& layer,
                           std::uint64_t& counter, RelayContext ctx) {
  BufferPool::Lease lease;  // kept while bytes flow; read_when_ready gives it back when idle
  for (;;) {
    std::size_t n = co_await read_when_ready(from, ctx.buffers, lease, 0, BufferPool::kBufferSize);
    if (n == 0) {
      shutdown_send(to);
      co_return;
    }
    layer.apply(lease.data(), n);
    co_await asio::async_write(to, asio::buffer(lease.data(), n), asio::use_awaitable);
    counter += n;
    ctx.stats.last_activity = Clock::now();
  }
}

namespace {

asio::awaitable<void> write_early(tcp::socket& to, const Bytes& early) {
  if (!early.empty()) co_await asio::async_write(to, asio::buffer(early), asio::use_awaitable);
}

asio::awaitable<void> middle_forward(tcp::socket& up, tcp::socket& down, LayerCipher& layer,
                                     Bytes early, RelayContext ctx) {
  co_await write_early(down, early);
  co_await pump(up, down, layer, ctx.stats.bytes_forward, ctx);
}

// Exit, client -> destination: frames in, plaintext out.
asio::awaitable<void> exit_forward(tcp::socket& up, tcp::socket& dest, LayerCipher& layer,
                                   FrameOpener& opener, Bytes early, RelayContext ctx) {
  constexpr std::size_t cap = BufferPool::kBufferSize;
  BufferPool::Lease lease;
  std::size_t have = 0;
  bool ended = false;
  if (!early.empty()) {
    lease = ctx.buffers.acquire();
    have = early.size();  // early is at most one control frame's leftovers (< cap)
    std::memcpy(lease.data(), early.data(), have);
  }
  std::vector<asio::const_buffer> out;
  for (;;) {
    // Open every complete frame and write their payloads with one gathered write.
    std::size_t start = 0;
    out.clear();
    bool end_seen = false;
    while (!ended && !end_seen) {
      auto d = opener.open({lease.data() + start, have - start});
      if (needs_more(d)) break;
      if (is_malformed(d)) {
        auto& m = std::get<Malformed>(d);
        throw std::system_error(make_error_code(m.code), m.reason);
      }
      auto& f = std::get<OpenedFrame>(d);
      start += f.consumed;
      if (f.type == FrameType::data) {
        out.emplace_back(f.payload.data(), f.payload.size());
      } else if (f.type == FrameType::end) {
        end_seen = true;
      } else {
        throw std::system_error(make_error_code(Errc::protocol_error),
                                "unexpected frame in stream");
      }
    }
    if (!out.empty()) {
      std::size_t n = co_await asio::async_write(dest, out, asio::use_awaitable);
      ctx.stats.bytes_forward += n;
      ctx.stats.last_activity = Clock::now();
    }
    if (end_seen) {
      ended = true;
      shutdown_send(dest);  // the client's clean half-close
    }
    if (ended && start < have) {
      throw std::system_error(make_error_code(Errc::protocol_error), "bytes after END");
    }
    // Keep a partial frame at the front (read_when_ready gives the buffer
    // back if it is empty and nothing more is waiting).
    if (start > 0) {
      std::memmove(lease.data(), lease.data() + start, have - start);
      have -= start;
    }
    std::size_t n = co_await read_when_ready(up, ctx.buffers, lease, have, cap - have);
    if (n == 0) {
      if (!ended) {
        // Cut without END: do not let the destination take a partial request as complete.
        std::error_code ec;
        dest.set_option(asio::socket_base::linger(true, 0), ec);
        dest.close(ec);
        throw std::system_error(make_error_code(Errc::circuit_truncated),
                                "upstream closed without END");
      }
      co_return;
    }
    layer.apply(lease.data() + have, n);
    have += n;
  }
}

// Exit, client -> destination, with its failures (integrity, protocol,
// truncation) handed to the backward direction so the client learns why.
asio::awaitable<void> exit_forward_guarded(tcp::socket& up, tcp::socket& dest, LayerCipher& layer,
                                           FrameOpener& opener, Bytes early, ExitAbort& abort,
                                           RelayContext ctx) {
  try {
    co_await exit_forward(up, dest, layer, opener, std::move(early), ctx);
  } catch (const std::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;  // cancelled: the circuit is ending
    if (e.code().category() == tpdp_category()) {
      abort.code = e.code();
      abort.reason = e.what();
    } else {
      // A reset or failed upstream link is a cut like EOF without END.
      abort.code = make_error_code(Errc::circuit_truncated);
      abort.reason = "upstream connection failed: " + e.code().message();
    }
  }
  if (abort.code) {
    std::error_code ignored;
    // Reset, not FIN, when the circuit closes: a partial request is not a request.
    dest.set_option(asio::socket_base::linger(true, 0), ignored);
    dest.cancel(ignored);  // wakes the backward direction if it waits for the destination
  }
}

// Exit, destination -> client: plaintext in, frames out, read straight into
// frame-shaped slots so sealing happens in place.
asio::awaitable<void> exit_backward(tcp::socket& dest, tcp::socket& up, LayerCipher& layer,
                                    FrameSealer& sealer, ExitAbort& abort, RelayContext ctx) {
  constexpr std::size_t slots = BufferPool::kBufferSize / kMaxFrameSize;
  BufferPool::Lease lease;  // kept while bytes flow, given back when the destination is idle
  bool woken = false;       // async_wait just reported readiness
  for (;;) {
    if (!abort.code && !lease && !woken && !has_input(dest)) {
      auto [wait_ec] = co_await dest.async_wait(tcp::socket::wait_read, use_tuple);
      if (wait_ec && !abort.code) throw std::system_error(wait_ec);
    }
    woken = false;
    if (abort.code) {
      // The forward direction failed: say why, in a whole frame, then stop.
      Bytes out;
      Bytes payload =
          encode_to_bytes(ErrorMsg{static_cast<Errc>(abort.code.value()), abort.reason});
      sealer.seal_append(FrameType::error, payload, out);
      layer.apply(out);
      co_await asio::async_write(up, asio::buffer(out), asio::use_awaitable);
      // Let the client read it: closing with its unread data pending would
      // send a reset that can destroy the ERROR frame before it is read.
      auto linger = linger_close(up);
      try {
        co_await with_deadline(std::move(linger), std::chrono::seconds(1));
      } catch (const std::system_error&) {
      }
      co_return;
    }
    if (!lease) lease = ctx.buffers.acquire();
    std::array<asio::mutable_buffer, slots> regions;
    for (std::size_t i = 0; i < slots; ++i) {
      regions[i] =
          asio::buffer(lease.data() + i * kMaxFrameSize + kFrameHeaderSize, kMaxFramePayload);
    }
    std::error_code ec;
    std::size_t n = dest.read_some(regions, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // Drained: give the buffer back and wait (nothing in between returns
      // to the event loop, so no readiness is lost).
      lease.reset();
      auto [wait_ec] = co_await dest.async_wait(tcp::socket::wait_read, use_tuple);
      if (wait_ec && !abort.code) throw std::system_error(wait_ec);
      woken = true;
      continue;
    }
    if (ec == asio::error::eof) {
      std::size_t len = sealer.seal(FrameType::end, {}, lease.data());
      layer.apply(lease.data(), len);
      co_await asio::async_write(up, asio::buffer(lease.data(), len), asio::use_awaitable);
      shutdown_send(up);
      co_return;
    }
    if (ec) throw std::system_error(ec);
    std::size_t total = 0;
    for (std::size_t i = 0; n > 0; ++i) {
      std::size_t chunk = std::min(n, kMaxFramePayload);
      std::uint8_t* slot = lease.data() + i * kMaxFrameSize;
      total += sealer.seal(FrameType::data, {slot + kFrameHeaderSize, chunk}, slot);
      n -= chunk;
    }
    layer.apply(lease.data(), total);
    co_await asio::async_write(up, asio::buffer(lease.data(), total), asio::use_awaitable);
    ctx.stats.bytes_backward += total;
    ctx.stats.last_activity = Clock::now();
  }
}

}  // namespace

asio::awaitable<void> relay_middle(tcp::socket& up, tcp::socket& down, LayerCipher forward_layer,
                                   LayerCipher backward_layer, Bytes early_forward,
                                   RelayContext ctx) {
  up.non_blocking(true);
  down.non_blocking(true);
  co_await first_of(middle_forward(up, down, forward_layer, std::move(early_forward), ctx) &&
                        pump(down, up, backward_layer, ctx.stats.bytes_backward, ctx),
                    idle_watchdog(ctx.stats, ctx.idle_timeout));
}

asio::awaitable<void> relay_exit(tcp::socket& up, tcp::socket& destination,
                                 LayerCipher forward_layer, LayerCipher backward_layer,
                                 FrameOpener opener, FrameSealer sealer, Bytes early_forward,
                                 RelayContext ctx) {
  up.non_blocking(true);
  destination.non_blocking(true);
  ExitAbort abort;
  co_await first_of(exit_forward_guarded(up, destination, forward_layer, opener,
                                         std::move(early_forward), abort, ctx) &&
                        exit_backward(destination, up, backward_layer, sealer, abort, ctx),
                    idle_watchdog(ctx.stats, ctx.idle_timeout));
  if (abort.code) throw std::system_error(abort.code, abort.reason);
}

}  // namespace tpdp
