// ThrottledWarning: a flood of warnings becomes one line a second, and the
// count of a burst that ends is written once its interval is over.
#include <spdlog/sinks/ostream_sink.h>

#include <asio.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/logging.hpp"

namespace {

struct CapturedLog {
  std::ostringstream out;
  tpdp::Logger log;
  CapturedLog() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("%v");
    log = std::make_shared<spdlog::logger>("throttle-test", sink);
    log->set_level(spdlog::level::warn);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
};

}  // namespace

TEST_CASE("throttled warning: a burst is one line, and its count is written when it ends",
          "[logging]") {
  CapturedLog captured;
  asio::io_context io;
  tpdp::ThrottledWarning warn(captured.log, io.get_executor(), std::chrono::milliseconds(200));
  for (int i = 1; i <= 1000; ++i) warn("refused connection " + std::to_string(i));
  REQUIRE(captured.lines() == std::vector<std::string>{"refused connection 1"});

  // Nothing more comes: the summary is due 200 ms after the first line.
  io.run_for(std::chrono::seconds(2));
  REQUIRE(captured.lines() ==
          std::vector<std::string>{"refused connection 1",
                                   "refused connection 1000 (998 more like it not logged)"});

  // The next warning after a quiet interval is written at once, with no count.
  warn("refused connection 1001");
  REQUIRE(captured.lines().size() == 3);
  CHECK(captured.lines()[2] == "refused connection 1001");
}

TEST_CASE("throttled warning: destroyed with a summary pending, it writes nothing more",
          "[logging]") {
  CapturedLog captured;
  asio::io_context io;
  {
    tpdp::ThrottledWarning warn(captured.log, io.get_executor(), std::chrono::milliseconds(100));
    warn("first");
    warn("second");
  }
  io.run_for(std::chrono::seconds(1));
  CHECK(captured.lines() == std::vector<std::string>{"first"});
}

TEST_CASE("throttled warning: without an executor the count comes with the next line",
          "[logging]") {
  CapturedLog captured;
  tpdp::ThrottledWarning warn(captured.log, std::chrono::milliseconds(50));
  warn("a");
  warn("b");
  warn("c");
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  warn("d");
  CHECK(captured.lines() == std::vector<std::string>{"a", "d (2 more like it not logged)"});
}
