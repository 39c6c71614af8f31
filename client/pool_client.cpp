#include "client/pool_client.hpp"

#include "common/deadline.hpp"
#include "common/message_io.hpp"
#include "common/net.hpp"
#include "protocol/identity.hpp"

namespace tpdp {

asio::awaitable<VerifiedNodeList> fetch_node_list(const PoolAddress& pool, TrustStore* trust,
                                                  std::chrono::milliseconds timeout) {
  std::string where = "pool " + pool.to_string();
  ListRequest request{random_public<Nonce32>()};
  SignedNodeList reply;
  auto exchange = [&]() -> asio::awaitable<void> {
    auto socket = co_await connect_to(pool.address, timeout);
    set_no_delay(socket);
    Bytes out = encode_to_bytes(PoolRequest{PoolCommand::list});
    Writer w(out);
    encode(w, request);
    co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
    Bytes pending;
    reply = co_await read_message<SignedNodeList>(socket, pending, kMaxListDocument + 200);
  };
  try {
    co_await with_deadline(exchange(), timeout);
  } catch (const ProtocolViolation& e) {
    throw PoolError(Errc::protocol_error, where + " sent a malformed list: " + e.what());
  } catch (const std::system_error& e) {
    throw PoolError(Errc::connect_failed,
                    "cannot fetch the node list from " + where + ": " + e.code().message());
  }
  std::string fp = fingerprint(reply.pool_key);
  if (pool.pinned_key && !(*pool.pinned_key == reply.pool_key)) {
    throw PoolError(Errc::authentication_failed,
                    where + " presented key " + fp + " but --pool pins " +
                        fingerprint(*pool.pinned_key) + "; refusing its list");
  }
  if (!verify_detached(reply.pool_key, node_list_signed_bytes(reply.document), reply.signature)) {
    throw PoolError(Errc::bad_signature, where + " sent a list with a bad signature; refusing it");
  }
  auto doc = decode_exact<NodeList>(reply.document);
  if (!is_value(doc)) {
    throw PoolError(Errc::protocol_error,
                    where + " sent a malformed list: " + std::get<Malformed>(doc).reason);
  }
  auto& list = std::get<NodeList>(doc);
  if (!(list.nonce == request.nonce)) {
    throw PoolError(Errc::protocol_error, where + " answered with a stale or replayed list");
  }
  VerifiedNodeList out{reply.pool_key, std::move(list.nodes), false};
  if (!pool.pinned_key && trust) {
    switch (trust->check(pool.to_string(), reply.pool_key)) {
      case TrustStore::Verdict::known:
        break;
      case TrustStore::Verdict::first_use:
        out.first_use = true;
        break;
      case TrustStore::Verdict::changed:
        throw PoolError(Errc::authentication_failed,
                        where + " presented key " + fp + " but its key was " +
                            trust->remembered(pool.to_string()) + " before (in " +
                            trust->file().string() +
                            "). Refusing: the pool may be impersonated. If the pool's key really "
                            "changed, pin it with --pool " +
                            pool.to_string() + "@" + fp + " or remove its line from that file.");
    }
  }
  co_return out;
}

}  // namespace tpdp
