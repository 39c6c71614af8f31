// HandshakeTurns on a real io_context: sources take turns, one handshake per
// turn; a waiter cancelled by its deadline leaves the queue; an uncontended
// handshake gets its turn at once.
#include <catch2/catch.hpp>

#include <asio.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "common/deadline.hpp"
#include "node/handshake_turns.hpp"

using namespace tpdp;
using namespace std::chrono_literals;

namespace {

// Waits for a turn, then records "source:index" (the work of the turn).
asio::awaitable<void> take_turn(HandshakeTurns& turns, std::string source, int index,
                                std::vector<std::string>& order) {
  co_await turns.wait(source);
  order.push_back(source + ":" + std::to_string(index));
}

asio::awaitable<void> take_turn_within(HandshakeTurns& turns, std::string source,
                                       std::chrono::milliseconds bound, bool& timed_out) {
  try {
    co_await with_deadline(turns.wait(source), bound);
  } catch (const std::system_error&) {
    timed_out = true;
  }
}

}  // namespace

TEST_CASE("handshake turns: sources alternate, so one address's flood does not delay another's") {
  asio::io_context io;
  HandshakeTurns turns(io.get_executor());
  std::vector<std::string> order;
  // Six handshakes from the flooding address arrive first, then two from another.
  for (int i = 0; i < 6; ++i)
    asio::co_spawn(io, take_turn(turns, "flood", i, order), asio::detached);
  for (int i = 0; i < 2; ++i)
    asio::co_spawn(io, take_turn(turns, "legit", i, order), asio::detached);
  io.run_for(2s);
  REQUIRE(order.size() == 8);
  CHECK(turns.waiting() == 0);
  // The first takes the free turn at once; then round robin: the other
  // address waits for one flood handshake, not five.
  CHECK(order == std::vector<std::string>{"flood:0", "flood:1", "legit:0", "flood:2", "legit:1",
                                          "flood:3", "flood:4", "flood:5"});
}

TEST_CASE("handshake turns: a waiter whose deadline passes leaves the queue, the rest go on") {
  asio::io_context io;
  HandshakeTurns turns(io.get_executor());
  std::vector<std::string> order;
  bool failed = false;
  // "x" takes the free turn; twenty other addresses queue up, then "a" with
  // a deadline that runs out long before its turn (the twenty-first), then
  // a second handshake from "a".
  asio::co_spawn(io, take_turn(turns, "x", 0, order), asio::detached);
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(io, take_turn(turns, "s" + std::to_string(i), 0, order), asio::detached);
  }
  asio::co_spawn(io, take_turn_within(turns, "a", 0ms, failed), asio::detached);
  asio::co_spawn(io, take_turn(turns, "a", 1, order), asio::detached);
  io.run_for(2s);
  CHECK(failed);
  CHECK(turns.waiting() == 0);
  CHECK(order.size() == 22);
  CHECK(order.back() == "a:1");
}

TEST_CASE("handshake turns: a handshake with nobody waiting goes ahead without waiting") {
  asio::io_context io;
  HandshakeTurns turns(io.get_executor());
  std::vector<std::string> order;
  asio::co_spawn(io, take_turn(turns, "only", 0, order), asio::detached);
  // One handler: the coroutine's start. It must finish without a turn of the loop.
  CHECK(io.run_one() == 1);
  CHECK(order == std::vector<std::string>{"only:0"});
}
