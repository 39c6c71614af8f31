#include "common/v0_1_pool_list.hpp"

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"

namespace tpdp {

asio::awaitable<v0_1::NodeList> fetch_v0_1_node_list(const HostPort& pool,
                                                     std::chrono::milliseconds timeout) {
  Bytes received;
  auto exchange = [&]() -> asio::awaitable<void> {
    auto socket = co_await connect_to(pool, timeout);
    set_no_delay(socket);
    Bytes request = encode_to_bytes(v0_1::PoolRequest{v0_1::PoolCommand::list, {}});
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    std::array<std::uint8_t, 16384> buf;
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), use_tuple);
      if (ec == asio::error::eof) co_return;  // the end of the list
      if (ec) throw std::system_error(ec);
      if (received.size() + n > v0_1::kMaxListBytes) {
        throw ProtocolViolation(Errc::limit_reached, "node list longer than any valid one");
      }
      received.insert(received.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
  };
  co_await with_deadline(exchange(), timeout);
  auto list = v0_1::decode_node_list(received);
  if (is_malformed(list)) {
    auto& m = std::get<Malformed>(list);
    throw ProtocolViolation(m.code, m.reason);
  }
  co_return std::move(std::get<v0_1::NodeList>(list));
}

}  // namespace tpdp
