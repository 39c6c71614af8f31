// The client library in-process against real pool and node processes:
// the torpydo-style operations, and the circuit as an Asio stream.
#include <asio/experimental/as_tuple.hpp>
#include <catch2/catch.hpp>

#include "client/client.hpp"
#include "harness.hpp"
#include "protocol/identity.hpp"

using namespace tpdp;
using namespace tpdp::test;

namespace {

// Runs a coroutine to completion (bounded); rethrows its exception.
void run(asio::io_context& io, asio::awaitable<void> task) {
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  io.run_for(std::chrono::seconds(30));
  io.restart();
  REQUIRE(done);
  if (failure) std::rethrow_exception(failure);
}

struct LibLab {
  TempDir dir;
  Network net{dir};
  PoolAddress pool;
  explicit LibLab(int nodes) {
    for (int i = 0; i < nodes; ++i) net.add_node();
    REQUIRE(net.wait_for_nodes(static_cast<std::size_t>(nodes)));
    std::string err;
    pool = *parse_pool_address(net.pool_address() + "@" + net.pool_fingerprint(), &err);
  }
};

}  // namespace

TEST_CASE("library: sync, merge, purge, and a clear error for too few nodes") {
  LibLab lab(3);
  asio::io_context io;
  Client client(io.get_executor());  // no trust store: only the pinned pool is accepted
  std::size_t added = 0, again = 0;
  auto sync_twice = [&]() -> asio::awaitable<void> {
    added = co_await client.sync_nodes_list(lab.pool);
    again = co_await client.sync_nodes_list(lab.pool);  // merging: nothing new
  };
  run(io, sync_twice());
  CHECK(added == 3);
  CHECK(again == 0);
  CHECK(client.nodes().size() == 3);
  client.purge_nodes_list();
  CHECK(client.nodes().empty());
  auto too_many = [&]() -> asio::awaitable<void> {
    co_await client.random_path_to_destination("127.0.0.1", 9, 1);
  };
  CHECK_THROWS_WITH(run(io, too_many()), Catch::Contains("only 0 are known"));
}

TEST_CASE("library: hop-by-hop build, send, receive, receive_exactly, close") {
  LibLab lab(3);
  TcpServer echo(echo_handler);
  asio::io_context io;
  Client client(io.get_executor());
  std::string got_some, got_exact;
  auto session = [&]() -> asio::awaitable<void> {
    co_await client.sync_nodes_list(lab.pool);
    auto nodes = client.nodes();
    co_await client.connect(nodes[0]);
    co_await client.next_destination(nodes[1]);
    co_await client.next_destination(nodes[2]);
    co_await client.open_stream("127.0.0.1", echo.port());
    CHECK(client.circuit().hop_count() == 3);
    co_await client.send(as_bytes("Hello"));
    Bytes some = co_await client.receive(32);
    got_some.assign(some.begin(), some.end());
    std::string big = random_bytes(200000);
    co_await client.send(as_bytes(big));
    Bytes exact = co_await client.receive_exactly(big.size());
    got_exact.assign(exact.begin(), exact.end());
    CHECK(got_exact == big);
    co_await client.close();
  };
  run(io, session());
  CHECK(got_some == "Hello");
}

TEST_CASE("library: the circuit works with asio::async_read_until and callbacks") {
  LibLab lab(2);
  TcpServer counter(count_then_reply_handler);
  asio::io_context io;
  Client client(io.get_executor());
  std::string line;
  std::error_code final_ec;
  auto session = [&]() -> asio::awaitable<void> {
    co_await client.sync_nodes_list(lab.pool);
    co_await client.random_path_to_destination("127.0.0.1", counter.port(), 2);
    auto& circuit = client.circuit();
    std::string payload(12345, 'z');
    co_await asio::async_write(circuit, asio::buffer(payload), asio::use_awaitable);
    co_await circuit.async_shutdown_send(asio::use_awaitable);
    std::string buf;
    std::size_t n = co_await asio::async_read_until(circuit, asio::dynamic_buffer(buf), '\n',
                                                    asio::use_awaitable);
    line = buf.substr(0, n);
    // A plain callback as the completion token: the clean end is eof.
    std::array<char, 16> rest;
    circuit.async_read_some(asio::buffer(rest),
                            [&](std::error_code ec, std::size_t) { final_ec = ec; });
  };
  run(io, session());
  CHECK(line == "got 12345 bytes\n");
  CHECK(final_ec == asio::error::eof);
}

TEST_CASE("library: extending to a node under the wrong identity names the hop") {
  LibLab lab(2);
  asio::io_context io;
  Client client(io.get_executor());
  auto session = [&]() -> asio::awaitable<void> {
    co_await client.sync_nodes_list(lab.pool);
    auto nodes = client.nodes();
    NodeDescriptor wrong = nodes[1];
    wrong.identity = nodes[0].identity;  // claims node 0's identity at node 1's address
    co_await client.connect(nodes[0]);
    co_await client.next_destination(wrong);
  };
  try {
    run(io, session());
    FAIL("the build should have failed");
  } catch (const CircuitError& e) {
    INFO(e.what());
    CHECK(e.hop() == 2);
    CHECK(e.errc() == Errc::unknown_identity);
  }
}
