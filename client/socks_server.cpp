#include "client/socks_server.hpp"

#include <sodium.h>

#include <asio/experimental/awaitable_operators.hpp>
#include <set>

#include "client/socks5_handshake.hpp"
#include "common/deadline.hpp"
#include "protocol/hex.hpp"
#include "protocol/identity.hpp"

namespace tpdp::socks {

// ---- paths ----

namespace {

// Number of ordered selections of h out of n, or limit + 1 if larger.
std::size_t count_sequences(std::size_t n, std::size_t h, std::size_t limit) {
  std::size_t total = 1;
  for (std::size_t i = 0; i < h; ++i) {
    total *= n - i;
    if (total > limit) return limit + 1;
  }
  return total;
}

// Calls visit(indices) for every ordered selection of h distinct indices below n.
template <class Visit>
void for_each_sequence(std::size_t n, std::size_t h, std::vector<std::size_t>& seq,
                       std::vector<bool>& taken, Visit& visit) {
  if (seq.size() == h) {
    visit(seq);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    taken[i] = true;
    seq.push_back(i);
    for_each_sequence(n, h, seq, taken, visit);
    seq.pop_back();
    taken[i] = false;
  }
}

std::uint32_t uniform(std::size_t below) {
  return randombytes_uniform(static_cast<std::uint32_t>(below));
}

}  // namespace

std::string describe_path(const std::vector<NodeDescriptor>& path) {
  std::string out;
  for (const auto& n : path) {
    if (!out.empty()) out += '>';
    out += fingerprint(n.identity).substr(0, 8);
  }
  return out;
}

PathPlanner::PathPlanner(std::size_t hops, std::size_t max_keys)
    : hops_(hops), max_keys_(max_keys < 1 ? 1 : max_keys) {}

PlannedPath PathPlanner::path_for(const std::string& key, const std::vector<NodeDescriptor>& nodes,
                                  const std::vector<IdentityPublicKey>& avoid) {
  if (nodes.size() < hops_) {
    throw std::runtime_error("a " + std::to_string(hops_) + "-hop path needs " +
                             std::to_string(hops_) + " distinct nodes, but only " +
                             std::to_string(nodes.size()) + " are known");
  }
  if (auto it = paths_.find(key); it != paths_.end()) {
    PlannedPath p;
    p.reused = true;
    for (const auto& id : it->second.path) {
      auto n = std::find_if(nodes.begin(), nodes.end(),
                            [&](const NodeDescriptor& d) { return d.identity == id; });
      if (n == nodes.end()) break;
      p.nodes.push_back(*n);  // the current address of that node
    }
    if (p.nodes.size() == hops_) {
      it->second.last_used = ++clock_;
      return p;
    }
    paths_.erase(it);  // a node is gone: choose again
  }
  return choose(key, nodes, avoid);
}

PlannedPath PathPlanner::choose(const std::string& key, const std::vector<NodeDescriptor>& nodes,
                                const std::vector<IdentityPublicKey>& avoid) {
  // Candidate nodes: all but `avoid`, unless that leaves too few.
  std::vector<std::size_t> usable;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (std::find(avoid.begin(), avoid.end(), nodes[i].identity) == avoid.end())
      usable.push_back(i);
  }
  if (usable.size() < hops_) {
    usable.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) usable[i] = i;
  }

  // What the other keys use.
  std::set<std::vector<IdentityPublicKey>> taken_paths;
  std::map<IdentityPublicKey, int> taken_nodes;
  std::set<IdentityPublicKey> taken_exits, taken_entries;
  for (const auto& [k, e] : paths_) {
    if (k == key || e.path.empty()) continue;
    taken_paths.insert(e.path);
    for (const auto& id : e.path) ++taken_nodes[id];
    taken_entries.insert(e.path.front());
    taken_exits.insert(e.path.back());
  }

  // Lower is better: nodes shared with other keys' paths weigh most, then a
  // shared exit (it sees destinations), then a shared entry (it sees the client).
  // An exact copy of another key's sequence is only taken when nothing else exists.
  std::vector<IdentityPublicKey> ids;
  std::vector<std::size_t> best;
  long best_score = -1;
  std::size_t ties = 0;
  std::vector<std::size_t> fallback;
  auto consider = [&](const std::vector<std::size_t>& seq) {
    ids.clear();
    for (auto i : seq) ids.push_back(nodes[usable[i]].identity);
    if (fallback.empty()) fallback = seq;
    if (taken_paths.count(ids)) return;
    long score = 0;
    for (const auto& id : ids) score += 4 * (taken_nodes.count(id) ? 1 : 0);
    score += 2 * static_cast<long>(taken_exits.count(ids.back()));
    score += static_cast<long>(taken_entries.count(ids.front()));
    if (best_score < 0 || score < best_score) {
      best_score = score;
      best = seq;
      ties = 1;
    } else if (score == best_score && uniform(++ties) == 0) {
      best = seq;  // uniform among the equally good (reservoir sampling)
    }
  };

  constexpr std::size_t kEnumerateUpTo = 5040;
  constexpr int kSamples = 512;
  if (count_sequences(usable.size(), hops_, kEnumerateUpTo) <= kEnumerateUpTo) {
    std::vector<std::size_t> seq;
    std::vector<bool> in_use(usable.size(), false);
    for_each_sequence(usable.size(), hops_, seq, in_use, consider);
  } else {
    std::vector<std::size_t> order(usable.size());
    for (int s = 0; s < kSamples; ++s) {
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      for (std::size_t i = 0; i < hops_; ++i)
        std::swap(order[i], order[i + uniform(order.size() - i)]);
      std::vector<std::size_t> seq(order.begin(), order.begin() + static_cast<long>(hops_));
      consider(seq);
    }
  }

  PlannedPath p;
  p.shared = best_score < 0;
  if (p.shared) {
    // Every sequence is some other key's: take a random one (enumeration
    // visits in order, so draw again rather than use the first).
    std::vector<std::size_t> order(usable.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = 0; i < hops_; ++i)
      std::swap(order[i], order[i + uniform(order.size() - i)]);
    best.assign(order.begin(), order.begin() + static_cast<long>(hops_));
  }
  Entry entry;
  entry.last_used = ++clock_;
  for (auto i : best) {
    p.nodes.push_back(nodes[usable[i]]);
    entry.path.push_back(nodes[usable[i]].identity);
  }
  if (paths_.size() >= max_keys_ && !paths_.count(key)) {
    auto oldest = std::min_element(paths_.begin(), paths_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    paths_.erase(oldest);
  }
  paths_[key] = std::move(entry);
  return p;
}

// ---- one connection ----

namespace {

using namespace std::chrono_literals;
using socks5::Handshake;
using socks5::Reply;

struct BuildOutcome {
  enum Kind { built, destination_failed, path_failed } kind = path_failed;
  Errc errc = Errc::internal_error;
  int hop = 0;         // 1-based failing hop, 0 when unknown
  std::string info;    // for the info log: never names the destination
  std::string detail;  // for the debug log: may name it
};

// Failures the exit reports about the destination: a fresh path would not help.
bool is_destination_error(Errc e) {
  return e == Errc::exit_policy_refused || e == Errc::resolve_failed || e == Errc::connect_failed ||
         e == Errc::connection_refused || e == Errc::timeout;
}

asio::awaitable<BuildOutcome> try_build(Client& client, const std::vector<NodeDescriptor>& path,
                                        const std::string& host, std::uint16_t port) {
  BuildOutcome out;
  bool opening = false;
  try {
    co_await client.connect(path[0]);
    for (std::size_t i = 1; i < path.size(); ++i) co_await client.next_destination(path[i]);
    opening = true;
    co_await client.open_stream(host, port);
    out.kind = BuildOutcome::built;
  } catch (const CircuitError& e) {
    out.errc = e.errc();
    out.hop = e.hop();
    out.detail = e.what();
  } catch (const std::system_error& e) {
    out.errc = e.code().category() == tpdp_category() ? static_cast<Errc>(e.code().value())
                                                      : Errc::connect_failed;
    out.detail = e.what();
  } catch (const std::exception& e) {
    out.detail = e.what();
  }
  if (out.kind == BuildOutcome::built) co_return out;
  if (opening) {
    if (is_destination_error(out.errc)) out.kind = BuildOutcome::destination_failed;
    out.hop = static_cast<int>(path.size());
    out.info = "the exit (hop " + std::to_string(path.size()) +
               ") could not open the stream: " + errc_name(out.errc);
  } else {
    out.info = out.detail;  // names hops, not the destination
  }
  co_return out;
}

// Reads and answers the SOCKS handshake until the request is in (the bytes
// after it go to `leftover`) or the handshake failed; throws on socket errors.
// *started is set once a byte has arrived.
asio::awaitable<void> run_handshake(tcp::socket& socket, Handshake& hs, Bytes& leftover,
                                    bool* started = nullptr) {
  std::array<std::uint8_t, 1024> buf;
  for (;;) {
    std::size_t n = co_await socket.async_read_some(asio::buffer(buf), asio::use_awaitable);
    if (started) *started = true;
    std::size_t used = hs.feed({buf.data(), n});
    Bytes out = hs.take_output();
    if (!out.empty()) co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
    if (hs.status() == Handshake::Status::request_ready) {
      leftover.assign(buf.begin() + static_cast<long>(used), buf.begin() + static_cast<long>(n));
      co_return;
    }
    if (hs.status() == Handshake::Status::failed) co_return;
  }
}

// Lets a final reply reach the client before the socket closes (bounded).
asio::awaitable<void> close_gently(tcp::socket& s) {
  try {
    co_await with_deadline(linger_close(s), 2s);
  } catch (const std::exception&) {
  }
  std::error_code ignored;
  s.close(ignored);
}

struct RelayState {
  bool failed = false;
  bool down_done = false;  // the destination's side ended cleanly and was passed on
  std::string error;
};

// Moves bytes both ways until both directions have ended. Half-close is
// carried: the client's EOF becomes the circuit's END, the exit's END a
// shutdown(send) on the client socket. Any error closes both at once; the
// client gets a reset (unless it already has the whole reply), so a cut
// stream never looks complete.
asio::awaitable<void> relay(tcp::socket& socket, Circuit& circuit, const Bytes& pending,
                            ConnectionLog& log) {
  using namespace asio::experimental::awaitable_operators;
  RelayState st;
  auto fail = [&](const std::string& why) {
    if (st.failed) return;
    st.failed = true;
    st.error = why;
    circuit.close();
    std::error_code ignored;
    if (!st.down_done) socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  };
  auto up = [&]() -> asio::awaitable<void> {
    if (!pending.empty()) {
      auto [ec, n] = co_await asio::async_write(circuit, asio::buffer(pending), use_tuple);
      if (ec) co_return fail("sending to the circuit: " + ec.message());
      log.up += n;
    }
    std::vector<std::uint8_t> buf(kMaxFramePayload);
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
      if (ec == asio::error::eof) {
        auto [sec] = co_await circuit.async_shutdown_send(use_tuple);
        if (sec && !st.down_done) fail("ending the stream: " + sec.message());
        co_return;
      }
      if (ec) co_return fail("client: " + ec.message());
      auto [wec, wn] = co_await asio::async_write(circuit, asio::buffer(buf.data(), n), use_tuple);
      if (wec) co_return fail("sending to the circuit: " + wec.message());
      log.up += wn;
    }
  };
  auto down = [&]() -> asio::awaitable<void> {
    std::vector<std::uint8_t> buf(4 * kMaxFramePayload);
    for (;;) {
      auto [ec, n] = co_await circuit.async_read_some(asio::buffer(buf), use_tuple);
      if (ec == asio::error::eof) {
        st.down_done = true;
        std::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      if (ec) co_return fail("stream: " + ec.message());
      auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(buf.data(), n), use_tuple);
      if (wec) co_return fail("client: " + wec.message());
      log.down += wn;
    }
  };
  // Neither throws: each ends on its own, after fail() if need be.
  co_await (up() && down());
  if (st.failed) log.outcome = "failed: " + st.error;
}

}  // namespace

// ---- the server ----

std::shared_ptr<SocksServer> SocksServer::create(asio::any_io_executor ex, cli::Options options,
                                                 SocksOptions socks, Logger log) {
  return std::shared_ptr<SocksServer>(
      new SocksServer(std::move(ex), std::move(options), socks, std::move(log)));
}

SocksServer::SocksServer(asio::any_io_executor ex, cli::Options options, SocksOptions socks,
                         Logger log)
    : ex_(ex),
      options_(std::move(options)),
      socks_(socks),
      log_(std::move(log)),
      acceptor_(ex),
      refresh_timer_(ex),
      refresh_done_(ex, asio::steady_timer::time_point::max()),
      planner_(options_.hops),
      refused_warning_(log_),
      handshake_warning_(log_),
      shared_path_warning_(log_) {
  hash_key_.resize(crypto_generichash_KEYBYTES);
  randombytes_buf(hash_key_.data(), hash_key_.size());
}

std::string SocksServer::key_hash(const std::string& isolation_key) const {
  std::string out(crypto_generichash_BYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(isolation_key.data()),
                     isolation_key.size(), reinterpret_cast<const unsigned char*>(hash_key_.data()),
                     hash_key_.size());
  return out;
}

asio::awaitable<void> SocksServer::run() {
  auto self = shared_from_this();
  auto warn = [this](const std::string& m) { log_->warn("{}", m); };
  Client first(ex_, ClientOptions{options_.data_dir, options_.timeout, warn, options_.protocol});
  co_await cli::sync_all(first, options_);
  nodes_ = first.nodes();
  last_refresh_attempt_ = std::chrono::steady_clock::now();
  if (nodes_.size() < options_.hops) {
    log_->warn("the pools list {} node(s); a {}-hop path needs {}: requests fail until more appear",
               nodes_.size(), options_.hops, options_.hops);
  }
  acceptor_ = listen_on(ex_, socks_.listen);
  log_->info(
      "SOCKS5 proxy on {}: {} nodes known, {}-hop circuits, at most {} connections, node list "
      "refreshed every {} s",
      format_host_port(socks_.listen), nodes_.size(), options_.hops, socks_.max_connections,
      std::chrono::duration_cast<std::chrono::seconds>(socks_.refresh_interval).count());
  asio::co_spawn(ex_, refresh_loop(), [self](std::exception_ptr) {});
  co_await accept_loop();
}

void SocksServer::stop() {
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  refresh_timer_.cancel();
  // Reset the clients' connections, so that none takes a cut stream for a
  // whole one (a socket destroyed with the io_context would close with a FIN:
  // Asio clears SO_LINGER in destructors).
  if (!open_.empty()) log_->info("resetting {} open connection(s)", open_.size());
  for (auto& [id, connection] : open_) {
    connection.socket->set_option(asio::socket_base::linger(true, 0), ignored);
    connection.socket->close(ignored);
  }
}

asio::awaitable<void> SocksServer::accept_loop() {
  auto self = shared_from_this();
  // Every connection is accepted and answered: one over the limit takes the
  // slot of the oldest still in its handshake, or gets a SOCKS refusal (a
  // client left in the listen backlog would only time out).
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) break;
      // E.g. out of descriptors: do not spin.
      refused_warning_("accepting a connection failed: " + ec.message());
      asio::steady_timer pause(ex_, 100ms);
      [[maybe_unused]] auto [pec] = co_await pause.async_wait(use_tuple);
      continue;
    }
    set_close_on_exec(socket);  // the library's user may start other programs
    if (active_ >= socks_.max_connections && !shed_oldest_handshake()) {
      std::error_code ignored;
      auto peer = socket.remote_endpoint(ignored);
      std::string who = ignored ? "?" : format_host_port(peer.address().to_string(), peer.port());
      if (refusing_ >= socks_.max_refusing) {
        refused_warning_("connection from " + who + " closed unanswered: " +
                         std::to_string(active_) + " connections open (--max-connections), " +
                         std::to_string(refusing_) + " refusals in progress");
        socket.close(ignored);
        continue;
      }
      refused_warning_("connection from " + who +
                       " refused (SOCKS reply 0x01): " + std::to_string(active_) +
                       " connections open (--max-connections), none in its handshake");
      asio::co_spawn(ex_, refuse(std::move(socket)), [self](std::exception_ptr) {});
      continue;
    }
    ++active_;
    asio::co_spawn(ex_, handle(std::move(socket), ++next_id_), [self](std::exception_ptr) {});
  }
}

bool SocksServer::shed_oldest_handshake() {
  constexpr auto kGrace = std::chrono::seconds(1);
  auto now = std::chrono::steady_clock::now();
  OpenConnection* victim = nullptr;
  for (auto& [id, c] : open_) {  // oldest first
    if (!c.handshaking || !c.holds_slot) continue;
    if (c.started) {
      victim = &c;
      break;
    }
    if (!victim && now - c.accepted >= kGrace) victim = &c;
  }
  if (victim) {
    auto& connection = *victim;
    connection.holds_slot = false;
    --active_;
    std::error_code ignored;
    connection.socket->set_option(asio::socket_base::linger(true, 0), ignored);
    connection.socket->close(ignored);  // its handshake read fails at once
    return true;
  }
  return false;
}

asio::awaitable<void> SocksServer::refuse(tcp::socket socket) {
  auto self = shared_from_this();
  ++refusing_;
  Handshake hs;
  Bytes leftover;
  try {
    co_await with_deadline(run_handshake(socket, hs, leftover), socks_.refusal_timeout);
  } catch (const std::exception&) {
  }
  if (hs.status() == Handshake::Status::request_ready) {
    Bytes reply = socks5::make_reply(Reply::general_failure);
    [[maybe_unused]] auto [ec, n] =
        co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
  }
  co_await close_gently(socket);
  --refusing_;
}

void SocksServer::connection_ended(std::uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  if (it->second.holds_slot) --active_;
  open_.erase(it);
}

asio::awaitable<void> SocksServer::refresh_loop() {
  auto self = shared_from_this();
  while (!stopped_) {
    refresh_timer_.expires_after(socks_.refresh_interval);
    auto [ec] = co_await refresh_timer_.async_wait(use_tuple);
    if (ec || stopped_) break;
    co_await refresh(false);
  }
}

asio::awaitable<void> SocksServer::refresh(bool on_demand) {
  auto self = shared_from_this();
  auto now = std::chrono::steady_clock::now();
  if (refreshing_) {
    // Join the refresh in progress (bounded by the pool timeouts).
    [[maybe_unused]] auto [ec] = co_await refresh_done_.async_wait(use_tuple);
    co_return;
  }
  if (on_demand && now - last_refresh_attempt_ < socks_.min_refresh_gap) co_return;
  refreshing_ = true;
  last_refresh_attempt_ = now;
  auto warn = [this](const std::string& m) { log_->warn("{}", m); };
  Client fresh(ex_, ClientOptions{options_.data_dir, options_.timeout, warn, options_.protocol});
  std::string error;
  try {
    co_await cli::sync_all(fresh, options_);
  } catch (const std::exception& e) {
    error = e.what();
  }
  refreshing_ = false;
  refresh_done_.cancel();
  if (!error.empty()) {
    log_->warn("refreshing the node list failed, keeping the {} known nodes: {}", nodes_.size(),
               error);
    co_return;
  }
  if (fresh.nodes().size() != nodes_.size()) {
    log_->info("node list refreshed: {} nodes (was {})", fresh.nodes().size(), nodes_.size());
  } else {
    log_->debug("node list refreshed: {} nodes", fresh.nodes().size());
  }
  nodes_ = fresh.nodes();
}

asio::awaitable<void> SocksServer::handle(tcp::socket socket, std::uint64_t id) {
  auto self = shared_from_this();
  auto started = std::chrono::steady_clock::now();
  ConnectionLog log;
  std::string peer = "?";
  {
    std::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) peer = format_host_port(ep.address().to_string(), ep.port());
  }
  set_no_delay(socket);
  open_[id] = OpenConnection{&socket};
  try {
    co_await serve(socket, id, log);
  } catch (const std::exception& e) {
    log.outcome = std::string("failed: ") + e.what();
  }
  if (!open_[id].holds_slot) {
    log.outcome = "reset during its handshake to make room for a new connection (" +
                  std::to_string(socks_.max_connections) + " open, --max-connections)";
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string line = fmt::format(
      "connection {} from {}: key {} ({}), path {}{}: {} after {:.3f} s ({} bytes up, {} down)", id,
      peer, log.key, log.method, log.path, log.retried, log.outcome, seconds, log.up, log.down);
  if (log.key == "-") {
    handshake_warning_(line);  // no request: what a flood of garbage looks like
  } else {
    log_->info("{}", line);
  }
  connection_ended(id);
}

asio::awaitable<void> SocksServer::serve(tcp::socket& socket, std::uint64_t id,
                                         ConnectionLog& log) {
  Handshake hs;
  Bytes leftover;
  std::string failure;

  // 1. The SOCKS handshake, within its deadline.
  try {
    co_await with_deadline(run_handshake(socket, hs, leftover, &open_[id].started),
                           socks_.handshake_timeout);
  } catch (const std::system_error& e) {
    failure = e.code() == make_error_code(Errc::timeout) ? "handshake timed out"
              : e.code() == asio::error::eof             ? "client closed during the handshake"
                                                         : "handshake: " + e.code().message();
  }
  if (!failure.empty() || hs.status() == Handshake::Status::failed) {
    log.outcome = "handshake failed: " + (failure.empty() ? hs.error() : failure);
    if (failure.empty()) co_await close_gently(socket);
  } else {
    // 2. A circuit of its own, on the key's path; one retry on a fresh path.
    open_[id].handshaking = false;  // no longer shed to make room
    const auto& request = hs.request();
    std::string key = key_hash(hs.isolation_key());
    log.key = to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(key.data()), 4));
    log.method = hs.method() == socks5::Method::user_pass ? "user/pass" : "no auth";
    log_->debug("connection {}: CONNECT {}", id, format_host_port(request.host, request.port));
    Client client(ex_, ClientOptions{{}, options_.timeout, {}, options_.protocol});
    std::vector<IdentityPublicKey> avoid;
    BuildOutcome result;
    for (int attempt = 1; attempt <= 2; ++attempt) {
      if (attempt > 1) co_await refresh(true);
      PlannedPath planned;
      std::string plan_error;
      try {
        planned = planner_.path_for(key, nodes_, avoid);
      } catch (const std::exception& e) {
        plan_error = e.what();
      }
      if (!plan_error.empty()) {
        result = BuildOutcome{BuildOutcome::path_failed, Errc::internal_error, 0, plan_error,
                              plan_error};
        log.retried = " (retried after finding no path)";
        continue;
      }
      log.path = describe_path(planned.nodes) + (planned.reused ? " (reused)" : " (new)");
      if (planned.shared) {
        shared_path_warning_(fmt::format(
            "connection {}: too few nodes to give key {} a path of its own: it shares a node "
            "sequence with another key (not a circuit)",
            id, log.key));
      }
      result = co_await try_build(client, planned.nodes, request.host, request.port);
      if (result.kind != BuildOutcome::path_failed) break;
      log_->debug("connection {}: attempt {} failed: {}", id, attempt, result.detail);
      log.retried = " (retried after " + describe_path(planned.nodes) + " failed at hop " +
                    std::to_string(result.hop) + " with " + errc_name(result.errc) + ")";
      planner_.forget(key);
      if (result.hop >= 1 && static_cast<std::size_t>(result.hop) <= planned.nodes.size()) {
        avoid.push_back(planned.nodes[static_cast<std::size_t>(result.hop) - 1].identity);
      }
    }
    if (result.kind != BuildOutcome::built) {
      Reply code = result.kind == BuildOutcome::destination_failed ? socks5::reply_for(result.errc)
                                                                   : Reply::general_failure;
      if (result.kind == BuildOutcome::destination_failed) {
        log_->debug("connection {}: {}", id, result.detail);
      }
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(code));
      log.outcome = std::string("refused with reply ") + hex + " (" + socks5::reply_text(code) +
                    "): " + result.info;
      Bytes reply = socks5::make_reply(code);
      [[maybe_unused]] auto [ec, n] =
          co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
      co_await close_gently(socket);
    } else {
      // 3. Success reply, then the relay (bytes pipelined after the request first).
      Bytes reply = socks5::make_reply(Reply::succeeded);
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(reply), use_tuple);
      if (ec) {
        log.outcome = "client went away: " + ec.message();
        client.circuit().close();
      } else {
        co_await relay(socket, client.circuit(), leftover, log);
      }
    }
  }
}

}  // namespace tpdp::socks
