// Circuit in TPDP/0.1 mode (spec/tpdp-0.1.md): built hop by hop in torpydo's
// lock-step order by v0_1::ClientPathBuilder, which adds the built hops'
// layers to each later handshake and removes them from the replies; this
// file only moves the bytes and names the hop that failed. After the last
// ETB the stream is the destination's bytes under every hop's layer: no
// frames, no END (the destination's close ends it), no half-close.
#include "client/v0_1_circuit_state.hpp"
#include "common/deadline.hpp"
#include "common/net.hpp"

namespace tpdp {

namespace {

using v0_1::ClientHop;
using Status = v0_1::ClientPathBuilder::Status;

Errc errc_of(const std::system_error& e) {
  if (e.code().category() == tpdp_category()) return static_cast<Errc>(e.code().value());
  return Errc::connect_failed;
}

}  // namespace

std::string Circuit::describe_v0_1(std::size_t index) const {
  const auto& n = v01_->nodes.at(index);
  return "hop " + std::to_string(index + 1) + " (" + format_host_port(n.host, n.port) + ")";
}

asio::awaitable<void> Circuit::drive_v0_1(int hop, const std::string& what) {
  auto& builder = v01_->builder;
  auto step = [&]() -> asio::awaitable<void> {
    Bytes buf(4096);
    bool can_write = true;
    for (;;) {
      Bytes out = builder.take_output();
      if (!out.empty() && can_write) {
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out), use_tuple);
        // The node may have sent an error byte and closed: read on to get it.
        if (ec) can_write = false;
      }
      if (builder.status() != Status::waiting) co_return;
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), use_tuple);
      if (ec) {
        // EOF (or a reset): the last byte of the step, if any, was the error byte.
        builder.end_of_stream();
        continue;
      }
      builder.feed(ByteView(buf.data(), n));
    }
  };
  try {
    co_await with_deadline(step(), options_.step_timeout);
  } catch (const std::system_error& e) {
    fail(errc_of(e), hop,
         what + ": " +
             (e.code() == make_error_code(Errc::timeout)
                  ? "no answer within " + std::to_string(options_.step_timeout.count()) + " ms"
                  : e.code().message()));
  }
}

void Circuit::fail_v0_1(const std::string* destination, bool to_next_node) {
  const auto& builder = v01_->builder;
  const ClientHop& hop = builder.current();
  std::size_t m = builder.failed_hop();
  std::string who = describe_v0_1(m - 1);
  if (auto byte = hop.error_byte()) {
    Errc code = v0_1::errc_for_error_byte(*byte);
    std::string what = who + " " + hop.failure_reason();
    bool unreachable =
        *byte == static_cast<std::uint8_t>(v0_1::ErrorByte::destination_error) && destination;
    if (unreachable && to_next_node) {
      // The next node could not be reached: it is the one that failed.
      fail(
          code, static_cast<int>(m + 1),
          "hop " + std::to_string(m + 1) + " (" + *destination + ") could not be reached: " + what);
    }
    if (unreachable) {
      what += ": it could not connect to " + *destination +
              " (unreachable, or refused by its exit policy)";
    }
    fail(code, static_cast<int>(m), what);
  }
  bool closed = hop.failure_reason() == "closed the connection without an error byte";
  fail(closed ? Errc::circuit_truncated : Errc::protocol_error, static_cast<int>(m),
       who + " " + hop.failure_reason());
}

asio::awaitable<void> Circuit::connect_v0_1(const NodeDescriptor& first) {
  if (socket_.is_open() || !v01_->nodes.empty()) {
    throw std::logic_error("Circuit::connect: the circuit is already connected");
  }
  v01_->nodes.push_back(first);
  std::string where = describe_v0_1(0);
  auto open = [&]() -> asio::awaitable<void> {
    HostPort where_to{first.host, first.port};
    socket_ = co_await connect_to(where_to, options_.step_timeout);
  };
  try {
    co_await with_deadline(open(), options_.step_timeout);
  } catch (const std::system_error& e) {
    fail(errc_of(e), 1, where + ": " + e.code().message());
  }
  set_no_delay(socket_);
  enable_dead_link_detection(socket_);
  v01_->builder.add_hop(ClientHop());
  co_await drive_v0_1(1, where);
  if (v01_->builder.status() == Status::failed) fail_v0_1(nullptr, false);
}

asio::awaitable<void> Circuit::extend_v0_1(const NodeDescriptor& next) {
  if (v01_->nodes.empty()) throw std::logic_error("Circuit::extend: connect to a first node first");
  if (streaming_) throw std::logic_error("Circuit::extend: the stream is already open");
  auto& builder = v01_->builder;
  std::size_t via = v01_->nodes.size();
  std::string next_address = format_host_port(next.host, next.port);
  // The last hop learns where to connect: the next node.
  builder.set_destination(next.host, next.port);
  co_await drive_v0_1(static_cast<int>(via),
                      describe_v0_1(via - 1) + ": connecting to " + next_address);
  if (builder.status() == Status::failed) fail_v0_1(&next_address, true);
  // Then the next node's own handshake, through the hops built so far.
  v01_->nodes.push_back(next);
  std::string where = describe_v0_1(via);
  builder.add_hop(ClientHop());
  co_await drive_v0_1(static_cast<int>(via + 1), where);
  if (builder.status() == Status::failed) fail_v0_1(nullptr, false);
}

asio::awaitable<void> Circuit::begin_v0_1(const std::string& host, std::uint16_t port) {
  if (v01_->nodes.empty()) throw std::logic_error("Circuit::begin: connect to a first node first");
  if (streaming_) throw std::logic_error("Circuit::begin: the stream is already open");
  std::string target = format_host_port(host, port);
  if (!is_valid_host(host) || port == 0) {
    throw CircuitError(Errc::protocol_error, 0, "invalid destination " + target);
  }
  auto& builder = v01_->builder;
  std::size_t exit = v01_->nodes.size();
  builder.set_destination(host, port);
  co_await drive_v0_1(static_cast<int>(exit),
                      describe_v0_1(exit - 1) + " (exit): opening " + target);
  if (builder.status() == Status::failed) fail_v0_1(&target, false);
  v01_->layers = builder.take_layers();
  // Bytes the destination sent right after the ETB: the start of the stream.
  Bytes early = builder.take_received();
  // At most one handshake read's worth, far below rx_'s capacity.
  std::copy(early.begin(), early.end(), rx_.data());
  rx_start_ = 0;
  rx_end_ = early.size();
  streaming_ = true;
}

Circuit::RxState Circuit::rx_deliver_v0_1(std::size_t& copied, std::error_code& ec,
                                          asio::mutable_buffer out) {
  if (rx_end_ > rx_start_) {
    copied = asio::buffer_copy(out, asio::buffer(rx_.data() + rx_start_, rx_end_ - rx_start_));
    rx_start_ += copied;
    return RxState::ready;
  }
  if (out.size() == 0) {
    copied = 0;
    return RxState::ready;
  }
  if (rx_error_) {
    ec = rx_error_;
    return RxState::error;
  }
  if (!streaming_) {
    ec = asio::error::not_connected;
    return RxState::error;
  }
  return RxState::need_read;
}

std::size_t Circuit::tx_layer_v0_1(const std::vector<asio::const_buffer>& in) {
  std::size_t n = asio::buffer_copy(asio::buffer(tx_.data(), kMaxFramePayload), in);
  // The last hop's layer first: hop 1 removes its own first.
  for (auto it = v01_->layers.rbegin(); it != v01_->layers.rend(); ++it) {
    it->forward.apply(tx_.data(), n);
  }
  return n;
}

}  // namespace tpdp
