#include "node/v0_1_heartbeat.hpp"

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"
#include "protocol/v0_1/pool_messages.hpp"

namespace tpdp {

asio::awaitable<std::uint8_t> send_v0_1_heartbeat(const HostPort& pool, const HostPort& self,
                                                  std::chrono::milliseconds timeout) {
  auto exchange = [&]() -> asio::awaitable<std::uint8_t> {
    auto socket = co_await connect_to(pool, timeout);
    set_no_delay(socket);
    v0_1::PoolRequest request{v0_1::PoolCommand::heartbeat, {self.host, self.port}};
    co_await write_message(socket, request);
    Bytes pending;
    auto reply = co_await read_message<v0_1::HeartbeatReply>(socket, pending, 1);
    co_return reply.next_heartbeat_s;
  };
  co_return co_await with_deadline(exchange(), timeout);
}

asio::awaitable<void> v0_1_heartbeat_loop(V01HeartbeatConfig config, Logger log) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string pool = format_host_port(config.pool);
  bool registered = false;
  bool first = true;
  for (;;) {
    std::chrono::milliseconds wait = config.retry;
    try {
      std::uint8_t delay = co_await send_v0_1_heartbeat(config.pool, config.self, config.timeout);
      // torpydo's node also falls back to its retry delay on a 0.
      if (delay > 0) wait = std::chrono::seconds(delay);
      if (!registered) {
        log->info("heartbeat accepted by TPDP/0.1 pool {} for {}; next in {} ms", pool,
                  format_host_port(config.self), wait.count());
      } else {
        log->debug("heartbeat to {} accepted", pool);
      }
      registered = true;
    } catch (const std::exception& e) {
      auto level = registered || first ? spdlog::level::warn : spdlog::level::debug;
      log->log(level, "pool {} unreachable or silent ({}); retrying every {} ms", pool, e.what(),
               config.retry.count());
      registered = false;
    }
    first = false;
    timer.expires_after(wait);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace tpdp
