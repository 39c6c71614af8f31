#include "client/circuit.hpp"

#include "client/v0_1_circuit_state.hpp"

#include "common/deadline.hpp"
#include "common/net.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/identity.hpp"
#include "protocol/ntor.hpp"

namespace tpdp {

struct Circuit::Hop {
  NodeDescriptor node;
  LayerCipher forward_layer;
  LayerCipher backward_layer;
  FrameSealer sealer;
  FrameOpener opener;
};

namespace {
// Room for several whole frames: fewer reads, and a partial frame always fits.
constexpr std::size_t kRxCapacity = 8 * kMaxFrameSize;

Errc errc_of(const std::system_error& e) {
  if (e.code().category() == tpdp_category()) return static_cast<Errc>(e.code().value());
  if (e.code() == asio::error::eof) return Errc::circuit_truncated;
  return Errc::connect_failed;
}
}  // namespace

Circuit::Circuit(executor_type ex, CircuitOptions options)
    : options_(options), socket_(ex), rx_(kRxCapacity), tx_(kMaxFrameSize) {
  if (options_.protocol == ProtocolVersion::tpdp0_1) v01_ = std::make_unique<V01>();
}

Circuit::~Circuit() = default;

std::size_t Circuit::hop_count() const {
  return v01_ ? v01_->nodes.size() : hops_.size();
}

const NodeDescriptor& Circuit::hop(std::size_t i) const {
  return v01_ ? v01_->nodes.at(i) : hops_.at(i)->node;
}

void Circuit::close() {
  std::error_code ec;
  if (socket_.is_open()) {
    // Abortive close: the circuit is cut, the exit must not see a clean END.
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
    socket_.close(ec);
  }
  streaming_ = false;
}

std::string Circuit::describe_hop(std::size_t index) const {
  const auto& n = hops_.size() > index ? hops_[index]->node : NodeDescriptor{};
  return "hop " + std::to_string(index + 1) + " (" + format_host_port(n.host, n.port) + " " +
         fingerprint(n.identity).substr(0, 16) + ")";
}

void Circuit::fail(Errc code, int hop, const std::string& what) {
  close();
  throw CircuitError(code, hop, what);
}

// ---- receive side ----

asio::mutable_buffer Circuit::rx_space() {
  if (rx_start_ > 0) {
    std::memmove(rx_.data(), rx_.data() + rx_start_, rx_end_ - rx_start_);
    rx_end_ -= rx_start_;
    rx_start_ = 0;
  }
  return asio::buffer(rx_.data() + rx_end_, rx_.size() - rx_end_);
}

void Circuit::rx_received(std::size_t n) {
  // Remove every hop's backward layer, outermost (hop 1) first.
  for (auto& hop : hops_) hop->backward_layer.apply(rx_.data() + rx_end_, n);
  if (v01_) {
    for (auto& hop : v01_->layers) hop.backward.apply(rx_.data() + rx_end_, n);
  }
  rx_end_ += n;
}

std::error_code Circuit::rx_eof() {
  // TPDP/0.1 has no END: the destination's close is the end of the stream.
  if (rx_got_end_ || v01_) return asio::error::eof;
  return make_error_code(Errc::circuit_truncated);
}

Circuit::RxState Circuit::rx_deliver(std::size_t& copied, std::error_code& ec,
                                     asio::mutable_buffer out) {
  if (v01_) return rx_deliver_v0_1(copied, ec, out);
  // Fills `out` from as many opened DATA frames as there are; anything else
  // (END, ERROR, a missing frame) after some bytes waits for the next call.
  copied = 0;
  for (;;) {
    if (plain_len_ > 0) {
      std::size_t n = asio::buffer_copy(out + copied, asio::buffer(plain_, plain_len_));
      plain_ += n;
      plain_len_ -= n;
      copied += n;
    }
    if (copied == out.size()) return RxState::ready;  // full (or an empty read)
    if (rx_got_end_) {
      if (copied > 0) return RxState::ready;
      ec = asio::error::eof;
      return RxState::error;
    }
    if (!streaming_) {
      if (copied > 0) return RxState::ready;
      ec = rx_error_ ? rx_error_ : asio::error::not_connected;
      return RxState::error;
    }
    auto d = hops_.back()->opener.open({rx_.data() + rx_start_, rx_end_ - rx_start_});
    if (needs_more(d)) {
      if (copied > 0) return RxState::ready;
      if (rx_error_) {
        ec = rx_error_;
        return RxState::error;
      }
      return RxState::need_read;
    }
    if (is_malformed(d)) {
      rx_error_ = make_error_code(std::get<Malformed>(d).code);
      close();
      if (copied > 0) return RxState::ready;
      ec = rx_error_;
      return RxState::error;
    }
    auto f = std::get<OpenedFrame>(d);
    rx_start_ += f.consumed;
    switch (f.type) {
      case FrameType::data:
        plain_ = f.payload.data();
        plain_len_ = f.payload.size();
        break;
      case FrameType::end:
        rx_got_end_ = true;
        break;
      case FrameType::error: {
        auto m = decode_exact<ErrorMsg>(f.payload);
        Errc code = is_value(m) ? std::get<ErrorMsg>(m).code : Errc::protocol_error;
        if (is_value(m)) error_detail_ = std::get<ErrorMsg>(m).reason;
        rx_error_ = make_error_code(code);
        if (copied > 0) return RxState::ready;
        ec = rx_error_;
        return RxState::error;
      }
      default:
        rx_error_ = make_error_code(Errc::protocol_error);
        close();
        if (copied > 0) return RxState::ready;
        ec = rx_error_;
        return RxState::error;
    }
  }
}

// ---- send side ----

std::size_t Circuit::tx_seal(FrameType type, const std::vector<asio::const_buffer>& in) {
  if (v01_) return tx_layer_v0_1(in);  // DATA only: no frames in TPDP/0.1
  std::size_t n =
      asio::buffer_copy(asio::buffer(tx_.data() + kFrameHeaderSize, kMaxFramePayload), in);
  std::size_t len = hops_.back()->sealer.seal(type, {tx_.data() + kFrameHeaderSize, n}, tx_.data());
  // Add the forward layers innermost (exit) first, so hop 1 removes its own first.
  for (auto it = hops_.rbegin(); it != hops_.rend(); ++it)
    (*it)->forward_layer.apply(tx_.data(), len);
  return len;
}

// ---- building ----

asio::awaitable<void> Circuit::send_control(FrameType type, const Bytes& payload) {
  Bytes out;
  hops_.back()->sealer.seal_append(type, payload, out);
  for (auto it = hops_.rbegin(); it != hops_.rend(); ++it) (*it)->forward_layer.apply(out);
  co_await asio::async_write(socket_, asio::buffer(out), asio::use_awaitable);
}

asio::awaitable<OpenedFrame> Circuit::read_control() {
  for (;;) {
    auto d = hops_.back()->opener.open({rx_.data() + rx_start_, rx_end_ - rx_start_});
    if (is_value(d)) {
      auto f = std::get<OpenedFrame>(d);
      rx_start_ += f.consumed;
      co_return f;
    }
    if (is_malformed(d)) {
      auto& m = std::get<Malformed>(d);
      fail(m.code, static_cast<int>(hops_.size()),
           describe_hop(hops_.size() - 1) + ": " + m.reason);
    }
    std::size_t n = co_await socket_.async_read_some(rx_space(), asio::use_awaitable);
    rx_received(n);
  }
}

asio::awaitable<void> Circuit::connect(const NodeDescriptor& first) {
  if (v01_) {
    co_await connect_v0_1(first);
    co_return;
  }
  if (socket_.is_open() || !hops_.empty()) {
    throw std::logic_error("Circuit::connect: the circuit is already connected");
  }
  std::string where = "hop 1 (" + format_host_port(first.host, first.port) + " " +
                      fingerprint(first.identity).substr(0, 16) + ")";
  NtorClient ntor(first.identity, first.onion_key);
  CreatedMsg created;
  auto step = [&]() -> asio::awaitable<void> {
    HostPort where_to{first.host, first.port};
    socket_ = co_await connect_to(where_to, options_.step_timeout);
    set_no_delay(socket_);
    enable_dead_link_detection(socket_);
    Bytes create = encode_to_bytes(CreateMsg{first.identity, ntor.client_public()});
    co_await asio::async_write(socket_, asio::buffer(create), asio::use_awaitable);
    ntor.prepare();  // while the node computes its answer
    Bytes reply(1);
    co_await asio::async_read(socket_, asio::buffer(reply), asio::use_awaitable);
    if (reply[0] == 0) {
      reply.resize(kCreatedOkSize);
      co_await asio::async_read(socket_, asio::buffer(reply.data() + 1, kCreatedOkSize - 1),
                                asio::use_awaitable);
    }
    created = std::get<CreatedMsg>(decode_exact<CreatedMsg>(reply));
  };
  try {
    co_await with_deadline(step(), options_.step_timeout);
  } catch (const std::system_error& e) {
    fail(errc_of(e), 1, where + ": " + e.code().message());
  }
  if (created.status != Errc::ok) {
    fail(created.status, 1,
         where + " refused the circuit: " + make_error_code(created.status).message());
  }
  auto keys = ntor.finish(created.node_ephemeral, created.auth);
  if (!keys) {
    fail(Errc::authentication_failed, 1,
         where + ": authentication failed: the node could not prove it holds the published key");
  }
  hops_.push_back(std::unique_ptr<Hop>(
      new Hop{first, LayerCipher(keys->forward_layer_key, keys->forward_layer_iv),
              LayerCipher(keys->backward_layer_key, keys->backward_layer_iv),
              FrameSealer(std::move(keys->forward_frame_key)),
              FrameOpener(std::move(keys->backward_frame_key))}));
}

asio::awaitable<void> Circuit::extend(const NodeDescriptor& next) {
  if (v01_) {
    co_await extend_v0_1(next);
    co_return;
  }
  if (hops_.empty()) throw std::logic_error("Circuit::extend: connect to a first node first");
  if (streaming_) throw std::logic_error("Circuit::extend: the stream is already open");
  int via = static_cast<int>(hops_.size());
  // Nodes refuse to extend past the cap (spec 6.6): refuse before asking.
  if (hops_.size() >= options_.max_hops) {
    throw CircuitError(Errc::limit_reached, via + 1,
                       "a circuit has at most " + std::to_string(options_.max_hops) +
                           " hops (TPDP/1); cannot add hop " + std::to_string(via + 1));
  }
  std::string where = "hop " + std::to_string(via + 1) + " (" +
                      format_host_port(next.host, next.port) + " " +
                      fingerprint(next.identity).substr(0, 16) + ")";
  NtorClient ntor(next.identity, next.onion_key);
  ExtendMsg extend{next.host, next.port, CreateMsg{next.identity, ntor.client_public()}};
  OpenedFrame frame{};
  auto step = [&]() -> asio::awaitable<void> {
    Bytes payload = encode_to_bytes(extend);
    co_await send_control(FrameType::extend, payload);
    ntor.prepare();  // while the request travels and the next node computes its answer
    frame = co_await read_control();
  };
  try {
    co_await with_deadline(step(), options_.step_timeout);
  } catch (const CircuitError&) {
    throw;
  } catch (const std::system_error& e) {
    fail(errc_of(e), via + 1,
         where + ": extending through " + describe_hop(via - 1) + " failed: " + e.code().message());
  }
  if (frame.type == FrameType::error) {
    auto m = decode_exact<ErrorMsg>(frame.payload);
    Errc code = is_value(m) ? std::get<ErrorMsg>(m).code : Errc::protocol_error;
    std::string reason = is_value(m) ? std::get<ErrorMsg>(m).reason : "malformed ERROR";
    // The relay could not reach the next node: the next node is the one that failed.
    fail(code, via + 1,
         where + ": " + make_error_code(code).message() + " (" + describe_hop(via - 1) +
             " reports: " + reason + ")");
  }
  if (frame.type != FrameType::extended) {
    fail(Errc::protocol_error, via, describe_hop(via - 1) + ": unexpected reply to EXTEND");
  }
  auto m = decode_exact<ExtendedMsg>(frame.payload);
  if (!is_value(m)) fail(Errc::protocol_error, via, describe_hop(via - 1) + ": malformed EXTENDED");
  const auto& created = std::get<ExtendedMsg>(m).created;
  if (created.status != Errc::ok) {
    fail(created.status, via + 1,
         where + " refused the circuit: " + make_error_code(created.status).message());
  }
  auto keys = ntor.finish(created.node_ephemeral, created.auth);
  if (!keys) {
    fail(Errc::authentication_failed, via + 1,
         where +
             ": authentication failed: the node could not prove it holds the published key "
             "(impersonated or replaced node)");
  }
  hops_.push_back(std::unique_ptr<Hop>(
      new Hop{next, LayerCipher(keys->forward_layer_key, keys->forward_layer_iv),
              LayerCipher(keys->backward_layer_key, keys->backward_layer_iv),
              FrameSealer(std::move(keys->forward_frame_key)),
              FrameOpener(std::move(keys->backward_frame_key))}));
  // Bytes read past EXTENDED came from the new hop: they carry its layer too.
  hops_.back()->backward_layer.apply(rx_.data() + rx_start_, rx_end_ - rx_start_);
}

asio::awaitable<void> Circuit::begin(const std::string& host, std::uint16_t port) {
  if (v01_) {
    co_await begin_v0_1(host, port);
    co_return;
  }
  if (hops_.empty()) throw std::logic_error("Circuit::begin: connect to a first node first");
  if (streaming_) throw std::logic_error("Circuit::begin: the stream is already open");
  int exit = static_cast<int>(hops_.size());
  std::string target = format_host_port(host, port);
  if (!is_valid_host(host) || port == 0) {
    throw CircuitError(Errc::protocol_error, 0, "invalid destination " + target);
  }
  OpenedFrame frame{};
  auto step = [&]() -> asio::awaitable<void> {
    Bytes payload = encode_to_bytes(BeginMsg{host, port});
    co_await send_control(FrameType::begin, payload);
    frame = co_await read_control();
  };
  try {
    co_await with_deadline(step(), options_.step_timeout);
  } catch (const CircuitError&) {
    throw;
  } catch (const std::system_error& e) {
    fail(errc_of(e), exit,
         describe_hop(exit - 1) + " (exit): opening " + target + " failed: " + e.code().message());
  }
  if (frame.type == FrameType::error) {
    auto m = decode_exact<ErrorMsg>(frame.payload);
    Errc code = is_value(m) ? std::get<ErrorMsg>(m).code : Errc::protocol_error;
    error_detail_ = is_value(m) ? std::get<ErrorMsg>(m).reason : "";
    fail(code, exit,
         describe_hop(exit - 1) + " (exit) could not open " + target + ": " +
             make_error_code(code).message());
  }
  if (frame.type != FrameType::connected) {
    fail(Errc::protocol_error, exit, describe_hop(exit - 1) + ": unexpected reply to BEGIN");
  }
  streaming_ = true;
}

}  // namespace tpdp
