// One circuit at a node: the control phase (CREATE -> CREATED, then one
// EXTEND or BEGIN), under the handshake deadline, then the relay phase.
#include <optional>

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "node/handshake_slot.hpp"
#include "node/node_directory.hpp"
#include "node/node_server.hpp"
#include "node/relay.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/frame.hpp"
#include "protocol/hex.hpp"
#include "protocol/ntor.hpp"

namespace tpdp {

namespace {
using Clock = std::chrono::steady_clock;

// A failure in the control phase: sent back to the client, then the circuit closes.
struct ControlFailure : std::runtime_error {
  ControlFailure(Errc c, const std::string& r, bool reported = false)
      : std::runtime_error(r), code(c), already_reported(reported) {}
  Errc code;
  bool already_reported;  // the client was told already (EXTENDED with a status)
};

std::string describe_outcome(const std::system_error& e);

Errc errc_of(const std::system_error& e) {
  if (e.code().category() == tpdp_category()) return static_cast<Errc>(e.code().value());
  return Errc::connect_failed;
}

std::string describe_outcome(const std::system_error& e) {
  return e.code().category() == tpdp_category() ? std::string(errc_name(errc_of(e)))
                                                : e.code().message();
}

}  // namespace

class CircuitSession {
 public:
  CircuitSession(NodeServer& node, tcp::socket& up, std::uint64_t id, std::string peer)
      : node_(node), up_(up), id_(id), peer_(std::move(peer)) {}

  // True when the circuit went on to relay: the relay then owns the
  // connection and the circuit's place in the node's count.
  asio::awaitable<bool> run();

 private:
  enum class Role { middle, exit };
  struct Established {
    Role role;
    tcp::socket down;
    std::string target;  // next hop or destination, for logs
  };

  asio::awaitable<Established> control_phase(HandshakeSlot& slot);
  asio::awaitable<void> create();
  asio::awaitable<OpenedFrame> read_control_frame();
  asio::awaitable<void> send_frame(FrameType type, ByteView payload);
  asio::awaitable<void> send_error(Errc code, const std::string& reason);
  asio::awaitable<Established> extend(const ExtendMsg& m);
  asio::awaitable<Established> begin(const BeginMsg& m);
  static void relay_ended(NodeServer& node, std::uint64_t id, Clock::time_point started,
                          std::exception_ptr failure, const CircuitStats& stats);

  const NodeConfig& config() const { return node_.config_; }
  Logger& log() { return node_.log_; }

  NodeServer& node_;
  tcp::socket& up_;
  std::uint64_t id_;
  std::string peer_;
  std::optional<LayerCipher> forward_layer_, backward_layer_;
  std::optional<FrameOpener> opener_;
  std::optional<FrameSealer> sealer_;
  // This node's place in the circuit: 1 for a client's CREATE, the depth a
  // node's CREATE says otherwise; and the node that extended to this one.
  std::size_t depth_ = 1;
  std::optional<PreviousNodeTag> previous_;  // names the previous node (node form only)
  OnionPublicKey client_public_;             // X of this hop's CREATE, for the tags
  Bytes rx_;                                 // bytes from upstream, forward layer already removed
  std::size_t rx_used_ = 0;                  // bytes of rx_ consumed by opened frames
};

asio::awaitable<bool> NodeServer::run_circuit(tcp::socket& up, std::uint64_t id,
                                              const std::string& peer) {
  CircuitSession session(*this, up, id, peer);
  co_return co_await session.run();
}

asio::awaitable<bool> CircuitSession::run() {
  auto started = Clock::now();
  set_no_delay(up_);
  HandshakeSlot slot(node_.handshakes_by_source_, peer_);
  std::optional<Established> est;
  Errc failure = Errc::ok;
  std::string reason;
  bool reported = false;
  try {
    est.emplace(co_await with_deadline(control_phase(slot), config().handshake_timeout));
  } catch (const ControlFailure& f) {
    failure = f.code;
    reason = f.what();
    reported = f.already_reported;
  } catch (const ProtocolViolation& e) {
    failure = errc_of(e);
    reason = e.what();
  } catch (const std::system_error& e) {
    if (e.code() == make_error_code(Errc::timeout)) {
      failure = Errc::timeout;
      reason = "handshake timed out";
    } else {
      // The client went away (EOF, reset): nothing to answer.
      log()->debug("circuit {} from {}: closed during handshake: {}", id_, peer_,
                   e.code().message());
      co_return false;
    }
  }
  slot.release();
  if (!est) {
    // Throttled per kind: a flood of garbage connections must not flood the
    // log, nor hide the other kinds of refusal.
    node_.refusal_log(failure)("circuit " + std::to_string(id_) + " from " + peer_ + ": refused: " +
                               std::string(errc_name(failure)) + " (" + reason + ")");
    try {
      if (!reported) co_await with_deadline(send_error(failure, reason), std::chrono::seconds(1));
    } catch (const std::exception&) {
    }
    co_return false;
  }

  bool exit = est->role == Role::exit;
  if (exit && !config().log_destinations) est->target = "(destination hidden)";
  log()->info("circuit {} from {}: open as {} to {}", id_, peer_, exit ? "exit" : "relay",
              est->target);
  // The relay phase owns the sockets and keys from here; this session (and
  // its frame buffer) ends now, so an idle circuit holds only what relays.
  RelaySetup setup{std::move(up_),
                   std::move(est->down),
                   std::move(*forward_layer_),
                   std::move(*backward_layer_),
                   exit ? std::move(opener_) : std::optional<FrameOpener>(),
                   exit ? std::move(sealer_) : std::optional<FrameSealer>(),
                   Bytes(rx_.begin() + static_cast<std::ptrdiff_t>(rx_used_), rx_.end())};
  NodeServer& node = node_;
  std::uint64_t id = id_;
  start_relay(std::move(setup), node.buffers_, node.sweeper_,
              [&node, id, started](std::exception_ptr failure, const CircuitStats& stats) {
                relay_ended(node, id, started, failure, stats);
              });
  co_return true;
}

void CircuitSession::relay_ended(NodeServer& node, std::uint64_t id, Clock::time_point started,
                                 std::exception_ptr failure, const CircuitStats& stats) {
  std::string outcome = "closed";
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::system_error& e) {
      outcome = describe_outcome(e);
    } catch (const std::exception& e) {
      outcome = e.what();
    }
  }
  --node.active_circuits_;
  auto secs = std::chrono::duration<double>(Clock::now() - started).count();
  node.log_->info("circuit {}: {} after {:.3f} s ({} bytes forward, {} bytes back)", id, outcome,
                  secs, stats.bytes_forward, stats.bytes_backward);
}

asio::awaitable<CircuitSession::Established> CircuitSession::control_phase(HandshakeSlot& slot) {
  co_await create();
  // The per-source limit is on handshakes (the public-key work); after CREATED
  // the control phase is bounded by the handshake timeout and the circuit cap,
  // and a relay's circuits from many clients must not count against it.
  slot.release();
  OpenedFrame frame = co_await read_control_frame();
  if (frame.type == FrameType::extend) {
    auto m = decode_exact<ExtendMsg>(frame.payload);
    if (!is_value(m)) throw ControlFailure(Errc::protocol_error, std::get<Malformed>(m).reason);
    co_return co_await extend(std::get<ExtendMsg>(m));
  }
  if (frame.type == FrameType::begin) {
    auto m = decode_exact<BeginMsg>(frame.payload);
    if (!is_value(m)) throw ControlFailure(Errc::protocol_error, std::get<Malformed>(m).reason);
    co_return co_await begin(std::get<BeginMsg>(m));
  }
  throw ControlFailure(Errc::protocol_error, "expected EXTEND or BEGIN");
}

asio::awaitable<void> CircuitSession::create() {
  Bytes pending;
  // A client's CREATE or, from a node extending a circuit, the node form
  // with this node's depth: the magic says which (protocol/circuit_messages.hpp).
  auto incoming = co_await read_message<IncomingCreate>(up_, pending, kNodeCreateSize);
  const CreateMsg& create = incoming.create;
  depth_ = incoming.depth;
  previous_ = incoming.previous;
  client_public_ = create.client_public;
  const auto& keys = node_.keys_;
  if (!(create.node_id == keys.identity.public_key)) {
    throw ControlFailure(Errc::unknown_identity,
                         "CREATE names identity " + fingerprint(create.node_id).substr(0, 16));
  }
  // The public-key work waits for this source's turn (node/handshake_turns.hpp),
  // and is not done at all for a client that has closed meanwhile: a client
  // waits for CREATED, so an end of stream here means nobody will read it
  // (the cheapest flood sends a CREATE and closes).
  co_await node_.handshake_turns_.wait(peer_);
  if (peer_has_closed(up_)) throw std::system_error(asio::error::eof);
  auto reply = ntor_server_respond(keys.identity.public_key, keys.onion, create.client_public,
                                   node_.take_ephemeral());
  if (!reply) throw ControlFailure(Errc::protocol_error, "degenerate client key");
  CreatedMsg created{Errc::ok, reply->node_ephemeral, reply->auth};
  co_await write_message(up_, created);
  node_.prepare_ephemeral();  // for the next CREATE, while this client works
  forward_layer_.emplace(reply->keys.forward_layer_key, reply->keys.forward_layer_iv);
  backward_layer_.emplace(reply->keys.backward_layer_key, reply->keys.backward_layer_iv);
  opener_.emplace(std::move(reply->keys.forward_frame_key));
  sealer_.emplace(std::move(reply->keys.backward_frame_key));
  // A pipelining client may have sent more than CREATE: those bytes are layered.
  forward_layer_->apply(pending);
  rx_ = std::move(pending);
  log()->debug("circuit {} from {}: CREATED sent", id_, peer_);
}

asio::awaitable<OpenedFrame> CircuitSession::read_control_frame() {
  for (;;) {
    auto d = opener_->open({rx_.data() + rx_used_, rx_.size() - rx_used_});
    if (is_value(d)) {
      auto f = std::get<OpenedFrame>(d);
      rx_used_ += f.consumed;
      co_return f;
    }
    if (is_malformed(d)) {
      auto& m = std::get<Malformed>(d);
      throw ControlFailure(m.code, m.reason);
    }
    std::size_t have = rx_.size();
    if (have - rx_used_ >= kMaxFrameSize)
      throw ControlFailure(Errc::protocol_error, "frame too long");
    rx_.resize(have + kMaxFrameSize);
    auto [ec, n] =
        co_await up_.async_read_some(asio::buffer(rx_.data() + have, kMaxFrameSize), use_tuple);
    rx_.resize(have + n);
    if (ec) throw std::system_error(ec);
    forward_layer_->apply(rx_.data() + have, n);
  }
}

asio::awaitable<void> CircuitSession::send_frame(FrameType type, ByteView payload) {
  Bytes out;
  sealer_->seal_append(type, payload, out);
  backward_layer_->apply(out);
  co_await asio::async_write(up_, asio::buffer(out), asio::use_awaitable);
}

asio::awaitable<void> CircuitSession::send_error(Errc code, const std::string& reason) {
  if (!sealer_) {
    // Before CREATED there are no keys: one clear status byte (as CREATED's status).
    std::uint8_t status = static_cast<std::uint8_t>(code);
    co_await asio::async_write(up_, asio::buffer(&status, 1), asio::use_awaitable);
  } else {
    Bytes payload = encode_to_bytes(ErrorMsg{code, reason});
    co_await send_frame(FrameType::error, payload);
  }
  co_await linger_close(up_);
}

asio::awaitable<CircuitSession::Established> CircuitSession::extend(const ExtendMsg& m) {
  std::string target = format_host_port(m.host, m.port);
  const IdentityPublicKey& next_id = m.create.node_id;
  std::string named = target + " " + fingerprint(next_id).substr(0, 16);
  // Paths must not loop or amplify (spec 6.6, checks 1 and 3): a bounded
  // depth, told by each extending node to the next, and no hop to itself or
  // straight back.
  if (depth_ + 1 > kMaxCircuitHops) {
    throw ControlFailure(Errc::limit_reached, "this node is hop " + std::to_string(depth_) +
                                                  ": a circuit has at most " +
                                                  std::to_string(kMaxCircuitHops) + " hops");
  }
  // Only to a node a pool lists, with exactly that address (spec 6.6, check 2).
  auto list_deadline =
      Clock::now() + std::max<Clock::duration>(config().connect_timeout, kNodeListLeastWait);
  if (!node_.directory_) {
    throw ControlFailure(Errc::unknown_identity,
                         "this node has no pool, so it knows no node to extend to");
  }
  bool listed = co_await node_.directory_->lists(next_id, m.host, m.port, list_deadline);
  if (!listed) {
    throw ControlFailure(Errc::unknown_identity,
                         "next hop " + named + " is not a node this node's pools list");
  }
  if (next_id == node_.keys_.identity.public_key) {
    throw ControlFailure(Errc::protocol_error, "EXTEND to this node itself");
  }
  if (previous_ && previous_node_tag(next_id, client_public_) == *previous_) {
    throw ControlFailure(Errc::protocol_error, "EXTEND back to the previous node " + named);
  }
  // Never to this node's own host (check 4: what the default exit policy refuses),
  // unless --lab or an operator's exit-policy rule accepts that address.
  auto not_own_host = [this, port = m.port](const tcp::endpoint& ep) {
    if (config().lab) return true;
    auto address = to_ip_address(ep.address());
    return node_.own_host_.allows(address, port) || config().exit_policy.allows(address, port);
  };
  std::function<bool(const tcp::endpoint&)> filter = not_own_host;
  tcp::socket down(up_.get_executor());
  // (Locals stay outside try blocks: GCC 12 mis-destroys them in coroutines.)
  HostPort next{m.host, m.port};
  Errc connect_error = Errc::ok;
  std::string connect_message;
  try {
    down = co_await connect_to(next, config().connect_timeout, filter);
  } catch (const std::system_error& e) {
    connect_error = errc_of(e);
    connect_message = e.code().message();
  }
  if (connect_error == Errc::exit_policy_refused) {
    throw ControlFailure(Errc::exit_policy_refused,
                         "next hop " + target +
                             " is this node's own host (allowed only with --lab or an "
                             "--exit-policy accept rule for it)");
  }
  if (connect_error != Errc::ok) {
    throw ControlFailure(
        connect_error == Errc::connection_refused ? Errc::connect_failed : connect_error,
        "cannot reach next hop " + target + ": " + connect_message);
  }
  set_no_delay(down);
  enable_dead_link_detection(down);
  CreatedMsg created;
  // Exactly CREATED's bytes: anything after them belongs to the relay phase.
  Bytes reply(1);
  try {
    // The node form: the next node learns its depth and who extended to it.
    co_await write_message(down, NodeCreateMsg{static_cast<std::uint8_t>(depth_ + 1),
                                               previous_node_tag(node_.keys_.identity.public_key,
                                                                 m.create.client_public),
                                               m.create});
    co_await asio::async_read(down, asio::buffer(reply), asio::use_awaitable);
    if (reply[0] == 0) {
      reply.resize(kCreatedOkSize);
      co_await asio::async_read(down, asio::buffer(reply.data() + 1, kCreatedOkSize - 1),
                                asio::use_awaitable);
    }
    created = std::get<CreatedMsg>(decode_exact<CreatedMsg>(reply));
  } catch (const std::system_error& e) {
    throw ControlFailure(Errc::connect_failed,
                         "next hop " + target + " did not answer CREATE: " + e.code().message());
  }
  Bytes extended = encode_to_bytes(ExtendedMsg{created});
  co_await send_frame(FrameType::extended, extended);
  if (created.status != Errc::ok) {
    // The next node refused; its status went back to the client. Close.
    throw ControlFailure(created.status,
                         "next hop " + target + " refused: " + errc_name(created.status), true);
  }
  co_return Established{Role::middle, std::move(down), target};
}

asio::awaitable<CircuitSession::Established> CircuitSession::begin(const BeginMsg& m) {
  std::string target = format_host_port(m.host, m.port);
  const auto& policy = config().exit_policy;
  auto allowed = [&](const tcp::endpoint& ep) {
    return policy.allows(to_ip_address(ep.address()), ep.port());
  };
  tcp::socket dest(up_.get_executor());
  HostPort destination{m.host, m.port};
  std::function<bool(const tcp::endpoint&)> filter = allowed;
  try {
    dest = co_await connect_to(destination, config().connect_timeout, filter);
  } catch (const std::system_error& e) {
    Errc code = errc_of(e);
    throw ControlFailure(code, "exit cannot open the stream: " + e.code().message());
  }
  Bytes nothing;
  co_await send_frame(FrameType::connected, nothing);
  co_return Established{Role::exit, std::move(dest), target};
}

}  // namespace tpdp
