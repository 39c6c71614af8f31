// One TPDP/0.1 connection at a node (spec/tpdp-0.1.md): the handshake state
// machine fed from the socket with a timer per read step, the connection
// to the destination under the exit policy, then the relay. Failures answer
// one error byte in clear (0 timeout, 1 protocol error, 2 destination
// connection error) and close.
#include <asio/experimental/awaitable_operators.hpp>

#include "common/deadline.hpp"
#include "node/handshake_slot.hpp"
#include "node/node_server.hpp"
#include "node/v0_1_listed_nodes.hpp"
#include "node/v0_1_relay.hpp"
#include "protocol/v0_1/node_handshake.hpp"

namespace tpdp {

namespace {

using Clock = std::chrono::steady_clock;
using v0_1::ErrorByte;
using v0_1::NodeHandshake;

const char* step_name(NodeHandshake::Step s) {
  switch (s) {
    case NodeHandshake::Step::hello:
      return "Hello";
    case NodeHandshake::Step::client_key:
      return "client key";
    case NodeHandshake::Step::counter:
      return "counter block";
    case NodeHandshake::Step::host_length:
      return "host length";
    case NodeHandshake::Step::host:
      return "host name";
    case NodeHandshake::Step::port:
      return "port";
    default:
      return "handshake";
  }
}

// Sends what the handshake queued (replies or the error byte).
asio::awaitable<void> send_output(tcp::socket& up, NodeHandshake& hs,
                                  std::chrono::milliseconds timeout) {
  Bytes out = hs.take_output();
  if (out.empty()) co_return;
  auto write = [&]() -> asio::awaitable<void> {
    co_await asio::async_write(up, asio::buffer(out), asio::use_awaitable);
  };
  co_await with_deadline(write(), timeout);
}

// After an error byte: let it reach the client before the close (a close
// with unread input would be a reset that can destroy it), one second at most.
asio::awaitable<void> send_error_and_close(tcp::socket& up, NodeHandshake& hs) {
  auto answer = [&]() -> asio::awaitable<void> {
    Bytes out = hs.take_output();
    co_await asio::async_write(up, asio::buffer(out), asio::use_awaitable);
    co_await linger_close(up);
  };
  try {
    co_await with_deadline(answer(), std::chrono::seconds(1));
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> close_both(tcp::socket& up, tcp::socket& down) {
  using namespace asio::experimental::awaitable_operators;
  auto both = [&]() -> asio::awaitable<void> { co_await (linger_close(up) && linger_close(down)); };
  try {
    co_await with_deadline(both(), std::chrono::seconds(2));
  } catch (const std::exception&) {
  }
  std::error_code ec;
  down.close(ec);
}

std::string outcome_of(const std::system_error& e) {
  if (e.code().category() == tpdp_category()) {
    std::string what = e.what();
    return errc_name(static_cast<Errc>(e.code().value())) +
           (what.empty() ? std::string() : " (" + what + ")");
  }
  return e.code().message();
}

}  // namespace

// The three phases of one connection, each a coroutine of its own.
class V01Session {
 public:
  V01Session(NodeServer& node, tcp::socket& up, std::uint64_t id, std::string peer)
      : node_(node),
        up_(up),
        id_(id),
        peer_(std::move(peer)),
        hs_(OnionKeypair::generate()),
        down_(up.get_executor()) {}

  asio::awaitable<void> run() {
    auto started = Clock::now();
    set_no_delay(up_);
    if (!co_await handshake()) co_return;
    if (!co_await connect()) co_return;
    co_await relay();
    auto secs = std::chrono::duration<double>(Clock::now() - started).count();
    node_.log_->info("circuit {}: {} after {:.3f} s ({} bytes forward, {} bytes back)", id_,
                     outcome_, secs, stats_.bytes_forward, stats_.bytes_backward);
  }

 private:
  // Up to the port, each read step under its own timer. False when the
  // connection is over (the client left, or an error byte was sent).
  asio::awaitable<bool> handshake();
  // The destination under the exit policy, or as a listed node; then ETB.
  asio::awaitable<bool> connect();
  asio::awaitable<void> relay();
  asio::awaitable<void> refuse();

  const NodeConfig& config() const { return node_.config_; }

  NodeServer& node_;
  tcp::socket& up_;
  std::uint64_t id_;
  std::string peer_;
  NodeHandshake hs_;
  Bytes early_;  // bytes after the port (the client pipelined data)
  tcp::socket down_;
  std::string shown_;  // the destination as logs may show it
  bool next_hop_only_ = false;
  CircuitStats stats_;
  std::string outcome_ = "closed";
};

asio::awaitable<bool> V01Session::handshake() {
  HandshakeSlot slot(node_.handshakes_by_source_, peer_);
  const auto step_timeout = config().handshake_timeout;
  Bytes buf(512);
  auto read = [&]() -> asio::awaitable<std::size_t> {
    co_return co_await up_.async_read_some(asio::buffer(buf), asio::use_awaitable);
  };
  auto step = hs_.step();
  auto step_started = Clock::now();
  while (hs_.reading()) {
    auto left = std::chrono::duration_cast<Duration>(step_timeout - (Clock::now() - step_started));
    std::size_t n = 0;
    std::error_code read_error;
    try {
      n = co_await with_deadline(read(), left);
    } catch (const std::system_error& e) {
      read_error = e.code();
    }
    if (read_error == make_error_code(Errc::timeout)) {
      hs_.fail(ErrorByte::timeout, std::string("no ") + step_name(hs_.step()) + " within " +
                                       std::to_string(step_timeout.count()) + " ms");
      break;
    }
    if (read_error) {
      // torpydo's node also closes without a byte when the client goes away.
      node_.log_->debug("circuit {} from {}: closed during the handshake ({}): {}", id_, peer_,
                        step_name(hs_.step()), read_error.message());
      co_return false;
    }
    std::size_t used = hs_.feed(ByteView(buf.data(), n));
    if (hs_.step() == NodeHandshake::Step::failed) break;
    if (hs_.step() == NodeHandshake::Step::connecting) {
      early_.assign(buf.begin() + static_cast<std::ptrdiff_t>(used),
                    buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    bool sent = true;
    try {
      co_await send_output(up_, hs_, step_timeout);
    } catch (const std::exception&) {
      sent = false;
    }
    if (!sent) co_return false;
    // The per-source limit covers the public-key work, as in TPDP/1.
    if (hs_.keyed()) slot.release();
    if (hs_.step() != step) {
      step = hs_.step();
      step_started = Clock::now();
    }
  }
  if (hs_.step() == NodeHandshake::Step::failed) {
    co_await refuse();
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> V01Session::refuse() {
  auto code = static_cast<std::uint8_t>(*hs_.failure());
  // Throttled like TPDP/1's refusals: a flood of bad connections must not
  // flood the log (one line a second, with a count of the others).
  node_.refusal_log(Errc::protocol_error)("circuit " + std::to_string(id_) + " from " + peer_ +
                                          ": refused with error byte " + std::to_string(code) +
                                          " (" + std::string(v0_1::error_byte_meaning(code)) +
                                          "): " + std::string(hs_.failure_reason()));
  co_await send_error_and_close(up_, hs_);
}

asio::awaitable<bool> V01Session::connect() {
  const HostPort destination = hs_.destination();
  const auto& policy = config().exit_policy;
  std::function<bool(const tcp::endpoint&)> allowed = [&](const tcp::endpoint& ep) {
    return policy.allows(to_ip_address(ep.address()), ep.port());
  };
  Errc error = Errc::ok;
  std::string reason;
  try {
    down_ = co_await connect_to(destination, config().connect_timeout, allowed);
  } catch (const std::system_error& e) {
    error = e.code() == make_error_code(Errc::exit_policy_refused) ? Errc::exit_policy_refused
                                                                   : Errc::connect_failed;
    reason = outcome_of(e);
  }
  if (error == Errc::exit_policy_refused && node_.v0_1_listed_nodes_) {
    next_hop_only_ = co_await node_.v0_1_listed_nodes_->contains(destination);
  }
  if (next_hop_only_) {
    error = Errc::ok;
    try {
      down_ = co_await connect_to(destination, config().connect_timeout);
    } catch (const std::system_error& e) {
      error = Errc::connect_failed;
      reason = outcome_of(e);
    }
  }
  // A node may be named; other destinations only when the operator asks.
  shown_ = config().log_destinations || next_hop_only_ ? format_host_port(destination)
                                                       : "(destination hidden)";
  if (error != Errc::ok) {
    hs_.fail(ErrorByte::destination_error, shown_ + ": " + reason);
    co_await refuse();
    co_return false;
  }
  set_no_delay(down_);
  enable_dead_link_detection(down_);
  hs_.connected();
  bool sent = true;
  try {
    co_await send_output(up_, hs_, config().handshake_timeout);
  } catch (const std::exception&) {
    sent = false;
  }
  co_return sent;
}

asio::awaitable<void> V01Session::relay() {
  auto layers = hs_.take_layers();
  layers.forward.apply(early_);
  node_.log_->info("circuit {} from {}: open to {}{}", id_, peer_, shown_,
                   next_hop_only_ ? " (a listed TPDP/0.1 node)" : "");
  RelayContext ctx{node_.buffers_, stats_, config().idle_timeout};
  V01RelayOptions options{next_hop_only_, config().handshake_timeout};
  try {
    co_await relay_v0_1(up_, down_, std::move(layers), std::move(early_), options, ctx);
  } catch (const std::system_error& e) {
    outcome_ = outcome_of(e);
  } catch (const asio::multiple_exceptions&) {
    outcome_ = "both directions failed";
  }
  co_await close_both(up_, down_);
}

asio::awaitable<void> NodeServer::run_v0_1_circuit(tcp::socket& up, std::uint64_t id,
                                                   const std::string& peer) {
  V01Session session(*this, up, id, peer);
  co_await session.run();
}

}  // namespace tpdp
