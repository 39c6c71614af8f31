#include "pool/reachability_proof.hpp"

#include "common/deadline.hpp"
#include "protocol/circuit_messages.hpp"
#include "protocol/ntor.hpp"

namespace tpdp {

asio::awaitable<ProofResult> prove_reachable(const NodeDescriptor& node,
                                             std::chrono::steady_clock::duration deadline) {
  ProofResult result;
  NtorClient ntor(node.identity, node.onion_key);
  CreatedMsg created;
  std::uint8_t refusal = 0;
  auto handshake = [&]() -> asio::awaitable<void> {
    // Named: GCC 12 destroys a temporary in a co_await expression twice.
    HostPort where{node.host, node.port};
    auto socket = co_await connect_to(where, deadline);
    set_no_delay(socket);
    result.reached = socket.remote_endpoint();
    Bytes create = encode_to_bytes(CreateMsg{node.identity, ntor.client_public()});
    co_await asio::async_write(socket, asio::buffer(create), asio::use_awaitable);
    ntor.prepare();  // while the node computes its answer
    Bytes reply(1);
    co_await asio::async_read(socket, asio::buffer(reply), asio::use_awaitable);
    if (reply[0] != 0) {
      refusal = reply[0];
    } else {
      reply.resize(kCreatedOkSize);
      co_await asio::async_read(socket, asio::buffer(reply.data() + 1, kCreatedOkSize - 1),
                                asio::use_awaitable);
      created = std::get<CreatedMsg>(decode_exact<CreatedMsg>(reply));
    }
    // Abortive close: nothing more is sent, and no TIME_WAIT stays behind
    // on the pool for each proof.
    std::error_code ec;
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
  };
  try {
    co_await with_deadline(handshake(), deadline);
  } catch (const std::system_error& e) {
    bool timed_out = e.code() == make_error_code(Errc::timeout);
    result.status = timed_out ? Errc::timeout : Errc::connect_failed;
    result.detail =
        timed_out ? "no answer within " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::seconds>(deadline).count()) +
                        " s"
                  : e.code().message();
    co_return result;
  }
  if (refusal == static_cast<std::uint8_t>(Errc::unknown_identity)) {
    result.status = Errc::unknown_identity;
    result.detail = "the node there holds another identity (it answered 07)";
  } else if (refusal != 0) {
    result.status = Errc::connect_failed;
    result.detail = "the node there refused the handshake with status " + std::to_string(refusal);
  } else if (!ntor.finish(created.node_ephemeral, created.auth)) {
    result.status = Errc::authentication_failed;
    result.detail = "the node there does not hold the onion key (AUTH did not verify)";
  } else {
    result.status = Errc::ok;
    result.detail = "answered as its identity";
  }
  co_return result;
}

}  // namespace tpdp
