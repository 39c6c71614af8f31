#include "pool/pool_server.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "pool/descriptor_room.hpp"
#include "pool/reachability_proof.hpp"
#include "protocol/hex.hpp"

namespace tpdp {

namespace {
constexpr std::size_t kMaxRequestSize = 512;

std::string short_fp(const IdentityPublicKey& id) {
  return fingerprint(id).substr(0, 16);
}
}  // namespace

namespace {
PoolConfig fit_to_descriptors(PoolConfig config, const Logger& log) {
  // Besides connections: the listening socket, the log, standard streams,
  // one outgoing socket per proof in flight, and some slack.
  config.max_connections =
      fit_connections_to_descriptors(config.max_connections, config.max_proofs_in_flight + 32, log);
  return config;
}
}  // namespace

PoolServer::PoolServer(asio::any_io_executor ex, PoolConfig config, IdentityKeypair key, Logger log)
    : config_(fit_to_descriptors(std::move(config), log)),
      key_(std::move(key)),
      log_(std::move(log)),
      acceptor_(listen_on(ex, config_.listen)),
      sweep_timer_(ex),
      registry_(config_.max_nodes,
                config_.protocol == ProtocolVersion::tpdp1 ? config_.max_nodes_per_address : 0),
      slots_(config_.max_connections, config_.max_connections_per_source),
      proofs_(config_.max_proofs_in_flight, config_.max_proofs_per_source,
              config_.proof_failure_memory),
      refusals_(log_),
      bad_requests_(log_),
      refused_nodes_(log_),
      failed_proofs_(log_),
      takeovers_(log_) {}

void PoolServer::stop() {
  stopping_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  sweep_timer_.cancel();
}

asio::awaitable<void> PoolServer::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (accept_loop() && sweep_loop());
}

asio::awaitable<void> PoolServer::accept_loop() {
  auto ex = co_await asio::this_coro::executor;
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || stopping_) break;
    if (ec) {
      refusals_("accept failed: " + ec.message());
      // Out of descriptors and similar: back off briefly instead of spinning.
      asio::steady_timer t(ex, std::chrono::milliseconds(100));
      co_await t.async_wait(use_tuple);
      continue;
    }
    std::error_code rec;
    auto ep = socket.remote_endpoint(rec);
    std::string source = rec ? "?" : ep.address().to_string();
    auto shared = std::make_shared<tcp::socket>(std::move(socket));
    auto admission = slots_.admit(source, [shared] {
      std::error_code cec;
      shared->close(cec);  // its coroutine ends with operation_aborted
    });
    switch (admission.outcome) {
      case ConnectionSlots::Outcome::refused_per_source:
        refusals_("refused a connection: too many connections (" +
                  std::to_string(config_.max_connections_per_source) + ") from " + source);
        continue;  // the socket closes here
      case ConnectionSlots::Outcome::refused_full:
        refusals_("refused a connection: connection limit (" +
                  std::to_string(config_.max_connections) +
                  ") reached and every connection is busy with a request");
        continue;
      case ConnectionSlots::Outcome::admitted_after_shedding:
        refusals_("connection limit (" + std::to_string(config_.max_connections) +
                  ") reached: closed the oldest connection still waiting for its request");
        break;
      case ConnectionSlots::Outcome::admitted:
        break;
    }
    asio::co_spawn(ex, serve(std::move(shared), std::move(source), admission.id), asio::detached);
  }
}

asio::awaitable<void> PoolServer::sweep_loop() {
  while (!stopping_) {
    sweep_timer_.expires_after(config_.sweep_interval);
    co_await sweep_timer_.async_wait(use_tuple);  // cancelled by stop()
    if (stopping_) break;
    auto now = std::chrono::steady_clock::now();
    proofs_.forget_old(now);
    for (const auto& n : registry_.sweep(now, config_.expiry)) {
      // TPDP/0.1 nodes have no identity to name.
      std::string who =
          config_.protocol == ProtocolVersion::tpdp1 ? " (" + short_fp(n.identity) + ")" : "";
      log_->info("node {}{} expired: no heartbeat for {} s; {} node(s) listed",
                 format_host_port(n.host, n.port), who, config_.expiry.count(), registry_.size());
    }
  }
}

asio::awaitable<void> PoolServer::serve(std::shared_ptr<tcp::socket> socket, std::string source,
                                        ConnectionSlots::Id slot) {
  auto arrival = std::chrono::steady_clock::now() + config_.request_arrival;
  std::string peer = "?";
  std::error_code ec;
  auto ep = socket->remote_endpoint(ec);
  if (!ec) peer = format_host_port(ep.address().to_string(), ep.port());
  try {
    co_await with_deadline(handle_request(*socket, peer, source, slot, arrival),
                           config_.request_timeout);
  } catch (const ProtocolViolation& e) {
    bad_requests_("request from " + peer + " rejected: " + e.what());
  } catch (const std::system_error& e) {
    if (e.code() == make_error_code(Errc::timeout)) {
      bad_requests_("request from " + peer + " timed out");
    } else {
      log_->debug("request from {} ended: {}", peer, e.code().message());
    }
  } catch (const std::exception& e) {
    bad_requests_("request from " + peer + " failed: " + e.what());
  }
  socket->close(ec);
  slots_.release(slot);
}

asio::awaitable<void> PoolServer::handle_request(tcp::socket& socket, const std::string& peer,
                                                 const std::string& source,
                                                 ConnectionSlots::Id slot,
                                                 std::chrono::steady_clock::time_point arrival) {
  if (config_.protocol == ProtocolVersion::tpdp0_1) {
    co_await handle_v0_1_request(socket, peer, slot, arrival);
    co_return;
  }
  Bytes pending;
  auto request =
      co_await arriving_by(read_message<PoolRequest>(socket, pending, kMaxRequestSize), arrival);
  if (request.command == PoolCommand::heartbeat) {
    co_await handle_heartbeat(socket, pending, peer, source, slot);
  } else {
    co_await handle_list(socket, pending, slot, arrival);
  }
}

asio::awaitable<void> PoolServer::handle_heartbeat(tcp::socket& socket, Bytes& pending,
                                                   const std::string& peer,
                                                   const std::string& source,
                                                   ConnectionSlots::Id slot) {
  // A fresh challenge per connection: a recorded heartbeat is useless later.
  HeartbeatChallenge challenge{random_public<Nonce32>()};
  co_await write_message(socket, challenge);
  auto arrival = std::chrono::steady_clock::now() + config_.request_arrival;
  auto hb = co_await arriving_by(read_message<SignedHeartbeat>(socket, pending, kMaxRequestSize),
                                 arrival);
  slots_.busy(slot);  // a complete request: never shed from now on
  HeartbeatReply reply;
  reply.next_heartbeat_s = static_cast<std::uint16_t>(config_.heartbeat_interval.count());
  Bytes signed_bytes = heartbeat_signed_bytes(challenge.challenge, hb.node);
  if (!verify_detached(hb.node.identity, signed_bytes, hb.signature)) {
    reply.status = Errc::bad_signature;
    refused_nodes_("heartbeat from " + peer + " for " +
                   format_host_port(hb.node.host, hb.node.port) + " (" +
                   short_fp(hb.node.identity) + ") has a bad signature; rejected");
  } else {
    reply.status = co_await register_node(hb.node, peer, source);
  }
  co_await write_message(socket, reply);
}

asio::awaitable<void> PoolServer::make_room(const std::string& source) {
  using Clock = std::chrono::steady_clock;
  auto candidate = registry_.least_recently_proved(Clock::now() - config_.proof_room_age);
  if (!candidate) co_return;  // every listed node answered a proof lately
  auto slot = proofs_.acquire(source);
  if (!slot) co_return;
  auto proof = co_await prove_reachable(*candidate, config_.proof_timeout);
  slot.reset();
  if (stopping_) co_return;
  std::string who = format_host_port(candidate->host, candidate->port) + " (" +
                    short_fp(candidate->identity) + ")";
  if (proof.status == Errc::ok) {
    registry_.proved_again(*candidate, Clock::now());
    co_return;
  }
  if (!registry_.remove(candidate->identity)) co_return;
  failed_proofs_("node " + who + " dropped to make room: the list is full and its address proof " +
                 "failed (" + proof.detail + "); " + std::to_string(registry_.size()) +
                 " node(s) listed");
}

asio::awaitable<Errc> PoolServer::register_node(const NodeDescriptor& node, const std::string& peer,
                                                const std::string& source) {
  using Clock = std::chrono::steady_clock;
  std::string where = format_host_port(node.host, node.port);
  std::string who = where + " (" + short_fp(node.identity) + ")";
  auto need = registry_.proof_needed(node, Clock::now(), config_.proof_recheck);
  if (need == Registry::ProofNeeded::none) {
    registry_.refresh(node, Clock::now());
    log_->debug("heartbeat from {}", who);
    co_return Errc::ok;
  }
  auto failed = need == Registry::ProofNeeded::first
                    ? proofs_.remembered_failure(node, Clock::now())
                    : std::nullopt;
  if (failed) {
    // Proved and failed a moment ago: the same answer, no new work.
    if (registry_.remove(node.identity)) {
      log_->info("node {} dropped: its address could not be proved; {} node(s) listed", who,
                 registry_.size());
    }
    co_return *failed;
  }
  std::error_code aec;
  auto literal = asio::ip::make_address(node.host, aec);
  if (!aec && literal.is_unspecified()) {
    // 0.0.0.0 or ::: a proof would reach the pool's own host, and every
    // client would connect to its own. No host can be reached there.
    failed_proofs_("heartbeat from " + peer + " for " + who +
                   " refused: an unspecified address cannot be proved");
    co_return Errc::connect_failed;
  }
  auto refused_before_proof = [&] {
    return need == Registry::ProofNeeded::first &&
           registry_.precheck(node, aec ? nullptr : &literal) == Errc::limit_reached;
  };
  if (refused_before_proof() && registry_.size() >= config_.max_nodes) {
    co_await make_room(source);  // a listed node that no longer answers gives its place
  }
  if (refused_before_proof()) {
    refused_nodes_("heartbeat from " + peer + " for " + who + " refused: node limit reached (" +
                   std::to_string(config_.max_nodes) + " in all, " +
                   std::to_string(config_.max_nodes_per_address) + " per address)");
    co_return Errc::limit_reached;
  }
  auto slot = proofs_.acquire(source);
  if (!slot) {
    if (need == Registry::ProofNeeded::recheck) {
      // Busy: the re-check waits for a later heartbeat.
      registry_.refresh(node, Clock::now());
      co_return Errc::ok;
    }
    refused_nodes_("heartbeat from " + peer + " for " + who +
                   " refused: too many address proofs in flight (" +
                   std::to_string(config_.max_proofs_in_flight) + " in all, " +
                   std::to_string(config_.max_proofs_per_source) + " per source)");
    co_return Errc::limit_reached;
  }
  auto proof = co_await prove_reachable(node, config_.proof_timeout);
  slot.reset();
  if (stopping_) co_return Errc::timeout;
  if (proof.status != Errc::ok && need == Registry::ProofNeeded::recheck) {
    // A listed node that fails its re-proof is not refreshed: it expires
    // unless a proof on one of its next heartbeats succeeds (a brief flood
    // at the node does not drop it at once).
    failed_proofs_("heartbeat from " + peer + " for " + who +
                   " refused: address re-proof failed (" + proof.detail +
                   "); listed until it expires unless a proof succeeds");
    co_return proof.status;
  }
  if (proof.status != Errc::ok) {
    proofs_.remember_failure(node, proof.status, Clock::now());
    failed_proofs_("heartbeat from " + peer + " for " + who +
                   " refused: address proof failed: " + proof.detail);
    if (registry_.remove(node.identity)) {
      log_->info("node {} dropped: its address proof failed ({}); {} node(s) listed", who,
                 proof.detail, registry_.size());
    }
    co_return proof.status;
  }
  Registry::Change change{};
  std::vector<NodeDescriptor> displaced;
  Errc status = registry_.admit(node, proof.reached.address(), proof.reached.port(), Clock::now(),
                                &change, &displaced);
  if (status != Errc::ok) {
    refused_nodes_("heartbeat from " + peer + " for " + who + " refused: node limit reached (" +
                   std::to_string(config_.max_nodes) + " in all, " +
                   std::to_string(config_.max_nodes_per_address) + " per address)");
    co_return status;
  }
  for (const auto& old : displaced) {
    // Throttled: identities that answer at one endpoint by turns could
    // otherwise write a line per heartbeat.
    takeovers_("node " + format_host_port(old.host, old.port) + " (" + short_fp(old.identity) +
               ") dropped: " + short_fp(node.identity) + " answers at " + where + "; " +
               std::to_string(registry_.size()) + " node(s) listed");
  }
  if (!displaced.empty()) {
    log_->debug("node {} took its address over", who);
  } else if (change == Registry::Change::added) {
    log_->info("node {} joined (address proved); {} node(s) listed", who, registry_.size());
  } else if (change == Registry::Change::moved) {
    log_->info("node {} updated its address or key to {} (address proved)", short_fp(node.identity),
               where);
  } else {
    log_->debug("node {}: address proved again", who);
  }
  co_return Errc::ok;
}

asio::awaitable<void> PoolServer::handle_list(tcp::socket& socket, Bytes& pending,
                                              ConnectionSlots::Id slot,
                                              std::chrono::steady_clock::time_point arrival) {
  auto request =
      co_await arriving_by(read_message<ListRequest>(socket, pending, kMaxRequestSize), arrival);
  slots_.busy(slot);  // a complete request: never shed from now on
  NodeList list;
  list.nonce = request.nonce;
  list.issued_at =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  list.nodes = registry_.snapshot();
  SignedNodeList signed_list;
  signed_list.pool_key = key_.public_key;
  signed_list.document = encode_to_bytes(list);
  signed_list.signature =
      sign_detached(key_.secret_key, node_list_signed_bytes(signed_list.document));
  co_await write_message(socket, signed_list);
  log_->debug("served the node list ({} node(s))", list.nodes.size());
}

}  // namespace tpdp
