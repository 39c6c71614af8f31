#include "node/relay.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>

#include "common/deadline.hpp"
#include "common/net.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/errors.hpp"

namespace tpdp {
namespace {

using Clock = std::chrono::steady_clock;

void shutdown_send(tcp::socket& s) {
  std::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
}

// One receive that never blocks (MSG_DONTWAIT), into `parts`: the sockets
// need no non-blocking mode switch (two ioctls per circuit) for it.
// nullopt: nothing waiting; 0: EOF.
std::optional<std::size_t> receive_now(tcp::socket& from, std::span<iovec> parts) {
  msghdr msg{};
  msg.msg_iov = parts.data();
  msg.msg_iovlen = parts.size();
  for (;;) {
    ssize_t n = ::recvmsg(from.native_handle(), &msg, MSG_DONTWAIT);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    throw std::system_error(errno, asio::error::get_system_category());
  }
}

// One circuit in the relay phase, shared by its two direction coroutines
// (each one's completion handler holds a reference); destroyed, closing
// both sockets, after both have ended.
struct Relay {
  Relay(RelaySetup s, BufferPool& b, IdleSweeper& sweeper, RelayDone d)
      : setup(std::move(s)),
        buffers(b),
        done(std::move(d)),
        watch(sweeper, stats.last_activity, [this] {
          idle = true;
          end();
        }) {}

  RelaySetup setup;
  BufferPool& buffers;
  RelayDone done;
  CircuitStats stats;
  // Exit: why the client's stream failed, for the ERROR frame sent back.
  std::error_code abort_code;
  std::string abort_reason;
  bool ending = false;  // a direction failed or the circuit is idle: both stop
  bool idle = false;
  int running = 2;
  std::exception_ptr first_failure;
  IdleSweeper::Watch watch;

  // Stops both directions: cancels what they wait for, and check() stops
  // one that was about to resume anyway.
  void end() {
    ending = true;
    std::error_code ec;
    setup.up.cancel(ec);
    setup.down.cancel(ec);
  }
  void check() const {
    if (ending) throw std::system_error(asio::error::operation_aborted);
  }
  void activity() { stats.last_activity = Clock::now(); }

  void direction_ended(std::exception_ptr e) {
    if (e && !first_failure) {
      first_failure = e;
      end();
    }
    if (--running > 0) return;
    std::exception_ptr failure = first_failure;
    if (idle) {
      failure = std::make_exception_ptr(
          std::system_error(make_error_code(Errc::timeout), "circuit idle"));
    } else if (!failure && abort_code) {
      failure = std::make_exception_ptr(std::system_error(abort_code, abort_reason));
    }
    // Reported before the sockets close: whoever sees the close may read
    // the node's log for the outcome right away.
    done(failure, stats);
    std::error_code ec;
    setup.down.close(ec);
    setup.up.close(ec);
  }
};

// Middle, either way: copies bytes applying a layer (peel or add: XOR is
// symmetric). Forward first writes what arrived during the handshake.
asio::awaitable<void> pump(Relay& r, bool forward) {
  auto& from = forward ? r.setup.up : r.setup.down;
  auto& to = forward ? r.setup.down : r.setup.up;
  auto& layer = forward ? r.setup.forward_layer : r.setup.backward_layer;
  auto& counter = forward ? r.stats.bytes_forward : r.stats.bytes_backward;
  if (forward && !r.setup.early_forward.empty()) {
    co_await asio::async_write(to, asio::buffer(r.setup.early_forward), asio::use_awaitable);
    Bytes().swap(r.setup.early_forward);
  }
  // Ends at EOF, on an error, or when the circuit ends (idle sweeper, other direction).
  for (;;) {
    BufferPool::Lease lease;
    auto n = read_now(from, r.buffers, lease, 0, BufferPool::kBufferSize);
    if (!n) {
      layer.park();  // nothing to do until bytes come: hold no cipher context either
      co_await from.async_wait(tcp::socket::wait_read, asio::use_awaitable);
      r.check();
      continue;
    }
    if (*n == 0) {
      shutdown_send(to);
      co_return;
    }
    layer.apply(lease.data(), *n);
    co_await asio::async_write(to, asio::buffer(lease.data(), *n), asio::use_awaitable);
    r.check();
    counter += *n;
    r.activity();
  }
}

// Exit, client -> destination: frames in, plaintext out. Stream failures
// (integrity, protocol, truncation) are thrown as tpdp errors; see
// forward_ended for what becomes of them.
asio::awaitable<void> exit_forward(Relay& r) {
  auto& up = r.setup.up;
  auto& dest = r.setup.down;
  auto& layer = r.setup.forward_layer;
  auto& opener = *r.setup.opener;
  constexpr std::size_t cap = BufferPool::kBufferSize;
  BufferPool::Lease lease;
  std::size_t have = 0;
  bool ended = false;
  if (!r.setup.early_forward.empty()) {
    lease = r.buffers.acquire();
    have = r.setup.early_forward.size();  // at most one control frame's leftovers (< cap)
    std::memcpy(lease.data(), r.setup.early_forward.data(), have);
    Bytes().swap(r.setup.early_forward);
  }
  // Payloads of opened frames, written with one gathered write.
  std::array<asio::const_buffer, 8> out;
  for (;;) {
    std::size_t start = 0, count = 0;
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
        out[count++] = asio::const_buffer(f.payload.data(), f.payload.size());
      } else if (f.type == FrameType::end) {
        end_seen = true;
      } else {
        throw std::system_error(make_error_code(Errc::protocol_error),
                                "unexpected frame in stream");
      }
      if (count == out.size()) {
        std::span<const asio::const_buffer> payloads(out.data(), count);
        std::size_t n = co_await asio::async_write(dest, payloads, asio::use_awaitable);
        r.check();
        count = 0;
        r.stats.bytes_forward += n;
        r.activity();
      }
    }
    if (count > 0) {
      std::span<const asio::const_buffer> payloads(out.data(), count);
      std::size_t n = co_await asio::async_write(dest, payloads, asio::use_awaitable);
      r.check();
      r.stats.bytes_forward += n;
      r.activity();
    }
    if (end_seen) {
      ended = true;
      shutdown_send(dest);  // the client's clean half-close
    }
    if (ended && start < have) {
      throw std::system_error(make_error_code(Errc::protocol_error), "bytes after END");
    }
    // Keep a partial frame at the front; give the buffer back when empty.
    if (start > 0) {
      std::memmove(lease.data(), lease.data() + start, have - start);
      have -= start;
    }
    if (have == 0) lease.reset();
    std::optional<std::size_t> n;
    while (!(n = read_now(up, r.buffers, lease, have, cap - have))) {
      layer.park();
      co_await up.async_wait(tcp::socket::wait_read, asio::use_awaitable);
      r.check();
    }
    if (*n == 0) {
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
    layer.apply(lease.data() + have, *n);
    have += *n;
  }
}

// The exit's forward direction ended. Its stream failures go to the backward
// direction, which tells the client why (ERROR frame) before the circuit
// closes; a reset or failed upstream link is a cut like EOF without END.
void forward_ended(Relay& r, std::exception_ptr e) {
  if (e && !r.ending) {
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& failure) {
      if (failure.code().category() == tpdp_category()) {
        r.abort_code = failure.code();
        r.abort_reason = failure.what();
      } else {
        r.abort_code = make_error_code(Errc::circuit_truncated);
        r.abort_reason = "upstream connection failed: " + failure.code().message();
      }
      e = nullptr;
    } catch (...) {
    }
    if (!e) {
      std::error_code ignored;
      // Reset, not FIN, when the circuit closes: a partial request is not a request.
      r.setup.down.set_option(asio::socket_base::linger(true, 0), ignored);
      r.setup.down.cancel(ignored);  // wakes the backward direction if it waits there
    }
  }
  r.direction_ended(e);
}

asio::awaitable<void> send_abort(Relay& r) {
  auto& up = r.setup.up;
  Bytes out;
  Bytes payload =
      encode_to_bytes(ErrorMsg{static_cast<Errc>(r.abort_code.value()), r.abort_reason});
  r.setup.sealer->seal_append(FrameType::error, payload, out);
  r.setup.backward_layer.apply(out);
  co_await asio::async_write(up, asio::buffer(out), asio::use_awaitable);
  // Let the client read it: closing with its unread data pending would
  // send a reset that can destroy the ERROR frame before it is read.
  auto linger = linger_close(up);
  try {
    co_await with_deadline(std::move(linger), std::chrono::seconds(1));
  } catch (const std::system_error&) {
  }
}

// Exit, destination -> client: plaintext in, frames out, read straight into
// frame-shaped slots so that sealing happens in place.
asio::awaitable<void> exit_backward(Relay& r) {
  auto& dest = r.setup.down;
  auto& up = r.setup.up;
  auto& layer = r.setup.backward_layer;
  auto& sealer = *r.setup.sealer;
  constexpr std::size_t slots = BufferPool::kBufferSize / kMaxFrameSize;
  for (;;) {
    if (r.abort_code) {
      // The forward direction failed: say why, in a whole frame, then stop.
      co_await send_abort(r);
      co_return;
    }
    // Taken only for the read; given back if the destination had nothing.
    BufferPool::Lease lease = r.buffers.acquire();
    std::array<iovec, slots> regions;
    for (std::size_t i = 0; i < slots; ++i) {
      regions[i] = {lease.data() + i * kMaxFrameSize + kFrameHeaderSize, kMaxFramePayload};
    }
    auto got = receive_now(dest, regions);
    if (!got) {
      lease.reset();
      layer.park();
      auto [wait_ec] = co_await dest.async_wait(tcp::socket::wait_read, use_tuple);
      if (r.abort_code) continue;
      if (wait_ec) throw std::system_error(wait_ec);
      r.check();
      continue;
    }
    if (*got == 0) {
      std::size_t len = sealer.seal(FrameType::end, {}, lease.data());
      layer.apply(lease.data(), len);
      co_await asio::async_write(up, asio::buffer(lease.data(), len), asio::use_awaitable);
      shutdown_send(up);
      co_return;
    }
    std::size_t n = *got;
    std::size_t total = 0;
    for (std::size_t i = 0; n > 0; ++i) {
      std::size_t chunk = std::min(n, kMaxFramePayload);
      std::uint8_t* slot = lease.data() + i * kMaxFrameSize;
      total += sealer.seal(FrameType::data, {slot + kFrameHeaderSize, chunk}, slot);
      n -= chunk;
    }
    layer.apply(lease.data(), total);
    co_await asio::async_write(up, asio::buffer(lease.data(), total), asio::use_awaitable);
    r.check();
    r.stats.bytes_backward += total;
    r.activity();
  }
}

}  // namespace

std::optional<std::size_t> read_now(tcp::socket& from, BufferPool& pool, BufferPool::Lease& lease,
                                    std::size_t offset, std::size_t max) {
  bool borrowed = !lease;
  if (borrowed) lease = pool.acquire();
  iovec part{lease.data() + offset, max};
  auto n = receive_now(from, {&part, 1});
  if (!n && borrowed) lease.reset();
  return n;
}

void start_relay(RelaySetup setup, BufferPool& buffers, IdleSweeper& sweeper, RelayDone done) {
  auto ex = setup.up.get_executor();
  auto relay = std::make_shared<Relay>(std::move(setup), buffers, sweeper, std::move(done));
  auto ended = [relay](std::exception_ptr e) { relay->direction_ended(e); };
  if (relay->setup.opener) {
    asio::co_spawn(ex, exit_forward(*relay),
                   [relay](std::exception_ptr e) { forward_ended(*relay, e); });
    asio::co_spawn(ex, exit_backward(*relay), ended);
  } else {
    asio::co_spawn(ex, pump(*relay, true), ended);
    asio::co_spawn(ex, pump(*relay, false), ended);
  }
}

}  // namespace tpdp
