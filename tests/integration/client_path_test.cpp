// tpdp-client --path: the user's choice of nodes, in order, by address (the
// lab exercises use it to route through a tapped node). TPDP/0.1 is covered
// end to end by the "labs: exercise 3" test.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace tpdp::test;

TEST_CASE("tpdp-client --path takes the listed nodes in the order given") {
  TempDir dir;
  Network net(dir);
  for (int i = 0; i < 3; ++i) net.add_node();
  REQUIRE(net.wait_for_nodes(3));
  TcpServer echo(echo_handler);
  auto addr = [&](std::size_t i) { return "127.0.0.1:" + std::to_string(net.node_port(i)); };

  std::string data = random_bytes(100000);
  auto r = net.client(
      {"-v", "--path", addr(2) + "," + addr(0), "cat", "127.0.0.1", std::to_string(echo.port())},
      data, 30s);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == data);
  CHECK(r.err.find("hop 1: " + addr(2) + " " + net.node_fingerprint(2)) != std::string::npos);
  CHECK(r.err.find("hop 2: " + addr(0) + " " + net.node_fingerprint(0)) != std::string::npos);
  CHECK(r.err.find("hop 3:") == std::string::npos);

  SECTION("an address the pool does not list is an error naming it") {
    std::uint16_t unlisted = free_port();
    auto bad = net.client({"--path", addr(0) + ",127.0.0.1:" + std::to_string(unlisted), "cat",
                           "127.0.0.1", std::to_string(echo.port())},
                          "", 30s);
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("--path: no listed node at 127.0.0.1:" + std::to_string(unlisted)) !=
          std::string::npos);
  }
  SECTION("a node given twice is an error") {
    auto bad = net.client(
        {"--path", addr(1) + "," + addr(1), "cat", "127.0.0.1", std::to_string(echo.port())}, "",
        30s);
    CHECK(bad.exit_code == 2);  // a usage error, found before any pool is asked
    CHECK(bad.err.find("appears twice") != std::string::npos);
  }
  SECTION("--path and --hops exclude each other; a malformed address is a usage error") {
    CHECK(net.client({"--hops", "2", "--path", addr(0), "nodes"}).exit_code == 2);
    CHECK(net.client({"--path", "nowhere", "nodes"}).exit_code == 2);
  }
}
