#include "node/heartbeat.hpp"

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"

namespace tpdp {

namespace {
// What a refused heartbeat means for the operator: since the pool proves a
// node at its advertised address before listing it (spec 5.3), most refusals
// are about that address, not about the heartbeat connection itself.
std::string rejection_reason(Errc status, const NodeDescriptor& self) {
  const std::string where = format_host_port(self.host, self.port);
  const std::string message = make_error_code(status).message();
  switch (status) {
    case Errc::connect_failed:
    case Errc::timeout:
      return "the pool could not reach this node at its advertised address " + where + " (" +
             message + "); check --advertise and that the pool can connect to that port";
    case Errc::unknown_identity:
    case Errc::authentication_failed:
      return "another node answers at the advertised address " + where + " (" + message +
             "); check --advertise";
    default:
      return message;
  }
}
}  // namespace

asio::awaitable<HeartbeatReply> send_heartbeat(const PoolAddress& pool, const NodeDescriptor& self,
                                               const IdentitySecretKey& key,
                                               std::chrono::milliseconds timeout) {
  auto exchange = [&]() -> asio::awaitable<HeartbeatReply> {
    auto socket = co_await connect_to(pool.address, timeout);
    set_no_delay(socket);
    co_await write_message(socket, PoolRequest{PoolCommand::heartbeat});
    Bytes pending;
    auto challenge = co_await read_message<HeartbeatChallenge>(socket, pending, 32);
    SignedHeartbeat hb{self, sign_detached(key, heartbeat_signed_bytes(challenge.challenge, self))};
    co_await write_message(socket, hb);
    co_return co_await read_message<HeartbeatReply>(socket, pending, 3);
  };
  co_return co_await with_deadline(exchange(), timeout);
}

asio::awaitable<void> heartbeat_loop(HeartbeatConfig config, const IdentitySecretKey& key,
                                     Logger log) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  // A handle: cancelled() reads the current state.
  auto cancellation = co_await asio::this_coro::cancellation_state;
  std::string pool = config.pool.to_string();
  bool registered = false;
  bool first = true;
  for (;;) {
    std::chrono::milliseconds wait = config.retry;
    try {
      auto reply = co_await send_heartbeat(config.pool, config.self, key, config.timeout);
      if (reply.status == Errc::ok) {
        wait = std::chrono::seconds(std::max<int>(1, reply.next_heartbeat_s));
        if (config.on_accepted)
          config.on_accepted(std::chrono::duration_cast<std::chrono::seconds>(wait));
        if (!registered) {
          log->info("registered with pool {}; heartbeat every {} s", pool, reply.next_heartbeat_s);
        } else {
          log->debug("heartbeat to {} accepted", pool);
        }
        registered = true;
      } else {
        log->error("pool {} rejected the heartbeat: {}", pool,
                   rejection_reason(reply.status, config.self));
        registered = false;
      }
    } catch (const std::exception& e) {
      // Warn once per outage; the retries themselves are debug noise.
      auto level = registered || first ? spdlog::level::warn : spdlog::level::debug;
      log->log(level, "pool {} unreachable ({}); retrying every {} ms", pool, e.what(),
               config.retry.count());
      registered = false;
    }
    first = false;
    // Cancelled (the node is shutting down): no further heartbeat, so the
    // pool drops the node instead of sending clients to it.
    if (cancellation.cancelled() != asio::cancellation_type::none) co_return;
    timer.expires_after(wait);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || cancellation.cancelled() != asio::cancellation_type::none) co_return;
  }
}

}  // namespace tpdp
