// A client's circuit: built hop by hop (connect, extend, begin), then a
// byte stream to the destination that models Asio's AsyncReadStream and
// AsyncWriteStream, so asio::async_read, async_write, async_read_until and
// friends work on it with any completion token.
//
// Like a socket: at most one read and one write outstanding at a time; a
// read and a write may run concurrently.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "client/circuit_error.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/frame.hpp"
#include "protocol/layer_cipher.hpp"
#include "protocol/pool_messages.hpp"
#include "protocol/protocol_version.hpp"

namespace tpdp {

struct CircuitOptions {
  std::chrono::milliseconds step_timeout{10000};  // each build step (connect, extend, begin)
  // TPDP/0.1 (spec/tpdp-0.1.md) instead of TPDP/1: torpydo's handshake, no
  // node keys to check (descriptors need only host and port), no frames,
  // and no half-close (see async_shutdown_send).
  ProtocolVersion protocol = ProtocolVersion::tpdp1;
  // The most hops a TPDP/1 circuit may have. Nodes refuse to extend past
  // kMaxCircuitHops (spec 6.6), so extend() refuses first; only a test of
  // the nodes' own limit raises it.
  std::size_t max_hops = kMaxCircuitHops;
};

class Circuit {
 public:
  using executor_type = asio::any_io_executor;
  using tcp = asio::ip::tcp;

  explicit Circuit(executor_type ex, CircuitOptions options = {});
  Circuit(Circuit&&) = delete;
  ~Circuit();

  executor_type get_executor() { return socket_.get_executor(); }

  // Build steps. Each throws CircuitError naming the failing hop.
  asio::awaitable<void> connect(const NodeDescriptor& first);
  asio::awaitable<void> extend(const NodeDescriptor& next);
  asio::awaitable<void> begin(const std::string& host, std::uint16_t port);

  std::size_t hop_count() const;
  const NodeDescriptor& hop(std::size_t i) const;
  bool is_streaming() const { return streaming_; }

  // Read: completes with bytes, asio::error::eof after the exit's clean END,
  // or a tpdp::Errc (circuit_truncated, integrity_failure, protocol_error...).
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token);
  // Write: seals up to one frame's worth of the buffers.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token);
  // Clean half-close of our direction: END frame, then TCP shutdown(send).
  // TPDP/0.1 has no half-close (the first node closes the whole path on EOF,
  // and the reply would be lost): there it sends nothing and only ends our
  // direction (later writes fail); the circuit ends when the destination
  // closes or on close(). A TPDP/0.1 client must never shut down its socket.
  template <class Token>
  auto async_shutdown_send(Token&& token);

  // Aborts the circuit at once (the exit sees a cut, not a clean end).
  void close();
  // The exit's ERROR reason, if it sent one.
  const std::string& last_error_detail() const { return error_detail_; }

 private:
  struct Hop;
  enum class RxState { ready, need_read, error };

  // Receive side: bytes from the socket, all layers removed.
  RxState rx_deliver(std::size_t& copied, std::error_code& ec, asio::mutable_buffer out);
  asio::mutable_buffer rx_space();
  void rx_received(std::size_t n);
  std::error_code rx_eof();

  // Send side.
  std::size_t tx_seal(FrameType type, const std::vector<asio::const_buffer>& in);

  // Build helpers.
  std::string describe_hop(std::size_t index) const;
  asio::awaitable<void> send_control(FrameType type, const Bytes& payload);
  asio::awaitable<OpenedFrame> read_control();
  [[noreturn]] void fail(Errc code, int hop, const std::string& what);

  // TPDP/0.1 (client/v0_1_circuit.cpp).
  struct V01;
  asio::awaitable<void> connect_v0_1(const NodeDescriptor& first);
  asio::awaitable<void> extend_v0_1(const NodeDescriptor& next);
  asio::awaitable<void> begin_v0_1(const std::string& host, std::uint16_t port);
  // Writes the path builder's output and feeds it what is read, until it
  // stops waiting for a reply, within the step timeout.
  asio::awaitable<void> drive_v0_1(int hop, const std::string& what);
  [[noreturn]] void fail_v0_1(const std::string* destination, bool to_next_node);
  std::string describe_v0_1(std::size_t index) const;
  RxState rx_deliver_v0_1(std::size_t& copied, std::error_code& ec, asio::mutable_buffer out);
  std::size_t tx_layer_v0_1(const std::vector<asio::const_buffer>& in);

  CircuitOptions options_;
  tcp::socket socket_;
  std::vector<std::unique_ptr<Hop>> hops_;
  std::unique_ptr<V01> v01_;  // set in TPDP/0.1 mode (hops_ then stays empty)
  bool streaming_ = false;

  // Fixed-size and not zero-filled: a short-lived circuit touches only the
  // pages it uses (zeroing 80 KiB per circuit showed in build-rate profiles).
  struct RawBuffer {
    explicit RawBuffer(std::size_t n) : bytes(new std::uint8_t[n]), n(n) {}
    std::uint8_t* data() { return bytes.get(); }
    std::size_t size() const { return n; }
    std::unique_ptr<std::uint8_t[]> bytes;
    std::size_t n;
  };

  RawBuffer rx_;
  std::size_t rx_start_ = 0, rx_end_ = 0;  // unopened bytes in rx_[start, end)
  std::uint8_t* plain_ = nullptr;          // decrypted DATA not yet delivered
  std::size_t plain_len_ = 0;
  bool rx_got_end_ = false;
  std::error_code rx_error_;

  RawBuffer tx_;
  bool tx_ended_ = false;
  std::string error_detail_;

  template <class MB>
  struct ReadOp;
  template <class CB>
  struct WriteOp;
  struct ShutdownOp;
};

// ---- templates ----

template <class MB>
struct Circuit::ReadOp {
  Circuit* self;
  MB buffers;
  enum { starting, posted, reading } state = starting;

  template <class Self>
  void operator()(Self& op, std::error_code ec = {}, std::size_t n = 0) {
    if (state == starting) {
      // Never complete inside the initiating call: post first.
      state = posted;
      auto ex = self->socket_.get_executor();
      asio::post(ex, std::move(op));
      return;
    }
    if (state == reading) {
      if (ec == asio::error::eof) {
        self->rx_error_ = self->rx_eof();
      } else if (ec) {
        self->rx_error_ = ec;
      } else {
        self->rx_received(n);
      }
    }
    // Like a socket's read_some, fills the first non-empty buffer (no allocation per read).
    asio::mutable_buffer out;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      out = asio::mutable_buffer(*it);
      if (out.size() > 0) break;
    }
    std::size_t copied = 0;
    std::error_code result;
    switch (self->rx_deliver(copied, result, out)) {
      case RxState::ready:
        op.complete(result, copied);
        return;
      case RxState::error:
        op.complete(result, 0);
        return;
      case RxState::need_read:
        state = reading;
        self->socket_.async_read_some(self->rx_space(), std::move(op));
        return;
    }
  }
};

template <class MutableBufferSequence, class Token>
auto Circuit::async_read_some(const MutableBufferSequence& buffers, Token&& token) {
  return asio::async_compose<Token, void(std::error_code, std::size_t)>(
      ReadOp<MutableBufferSequence>{this, buffers}, token, socket_);
}

template <class CB>
struct Circuit::WriteOp {
  Circuit* self;
  CB buffers;
  std::size_t consumed = 0;
  enum { starting, posted, writing } state = starting;

  template <class Self>
  void operator()(Self& op, std::error_code ec = {}, std::size_t = 0) {
    if (state == starting) {
      state = posted;
      auto ex = self->socket_.get_executor();
      asio::post(ex, std::move(op));
      return;
    }
    if (state == writing) {
      op.complete(ec, ec ? 0 : consumed);
      return;
    }
    if (!self->streaming_) return op.complete(asio::error::not_connected, 0);
    if (self->tx_ended_) return op.complete(asio::error::shut_down, 0);
    std::vector<asio::const_buffer> in(asio::buffer_sequence_begin(buffers),
                                       asio::buffer_sequence_end(buffers));
    consumed = asio::buffer_size(in) > kMaxFramePayload ? kMaxFramePayload : asio::buffer_size(in);
    if (consumed == 0) return op.complete(std::error_code{}, 0);
    std::size_t len = self->tx_seal(FrameType::data, in);
    state = writing;
    asio::async_write(self->socket_, asio::buffer(self->tx_.data(), len), std::move(op));
  }
};

template <class ConstBufferSequence, class Token>
auto Circuit::async_write_some(const ConstBufferSequence& buffers, Token&& token) {
  return asio::async_compose<Token, void(std::error_code, std::size_t)>(
      WriteOp<ConstBufferSequence>{this, buffers}, token, socket_);
}

struct Circuit::ShutdownOp {
  Circuit* self;
  enum { starting, posted, writing } state = starting;

  template <class Self>
  void operator()(Self& op, std::error_code ec = {}, std::size_t = 0) {
    if (state == starting) {
      state = posted;
      auto ex = self->socket_.get_executor();
      asio::post(ex, std::move(op));
      return;
    }
    if (state == writing) {
      if (!ec) self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      return op.complete(ec);
    }
    if (!self->streaming_) return op.complete(asio::error::not_connected);
    if (self->tx_ended_) return op.complete(std::error_code{});
    self->tx_ended_ = true;
    if (self->v01_) return op.complete(std::error_code{});  // nothing to send: no half-close
    std::size_t len = self->tx_seal(FrameType::end, {});
    state = writing;
    asio::async_write(self->socket_, asio::buffer(self->tx_.data(), len), std::move(op));
  }
};

template <class Token>
auto Circuit::async_shutdown_send(Token&& token) {
  return asio::async_compose<Token, void(std::error_code)>(ShutdownOp{this}, token, socket_);
}

}  // namespace tpdp
