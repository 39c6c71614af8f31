// What the tpdp-bench-client commands share: finding the path's nodes in a
// pool's signed list, building and tearing down circuits with the client
// library, fetching checked bytes from tpdp-bench-source, reading another
// process's CPU time and memory from /proc, and printing one JSON line.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/stream_pattern.hpp"
#include "client/circuit.hpp"
#include "protocol/pool_messages.hpp"

namespace tpdp::bench {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

double seconds_since(Clock::time_point t);

// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the soft limit.
std::uint64_t raise_descriptor_limit();

// Another process, seen through /proc/PID/stat and /proc/PID/status.
struct ProcessSample {
  double cpu_seconds = 0;        // user + system
  std::uint64_t rss_bytes = 0;   // VmRSS
  std::uint64_t peak_bytes = 0;  // VmHWM (highest RSS so far)
  std::size_t descriptors = 0;   // entries in /proc/PID/fd
};
// Counting descriptors lists /proc/PID/fd: skipped when sampling often.
std::optional<ProcessSample> sample_process(int pid, bool count_descriptors = true);

// The nodes of a path, picked by their ports from the pool's list (pinned pool address).
asio::awaitable<std::vector<NodeDescriptor>> path_by_ports(const std::string& pool_address,
                                                           const std::vector<std::uint16_t>& ports);

// connect (first node), extend (the others), begin (127.0.0.1:dest_port).
asio::awaitable<void> build_circuit(Circuit& circuit, const std::vector<NodeDescriptor>& path,
                                    std::uint16_t dest_port);

// Clean end: END our way, then wait (bounded) for the exit's END after the source closes.
asio::awaitable<void> finish_circuit(Circuit& circuit, std::chrono::milliseconds bound);

// Asks the source for `length` bytes from position `start`, reads them into
// buf (reused) and checks every byte; throws on a difference or early end.
template <class Stream>
asio::awaitable<void> fetch_checked(Stream& stream, std::uint64_t length, std::uint64_t start,
                                    std::vector<std::uint8_t>& buf, const StreamPattern& pattern) {
  std::uint8_t raw[StreamRequest::kSize];
  StreamRequest{length, start}.encode(raw);
  co_await asio::async_write(stream, asio::buffer(raw), asio::use_awaitable);
  std::uint64_t got = 0;
  // Each pass reads at least one byte or throws: at most `length` passes.
  while (got < length) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - got));
    std::size_t n =
        co_await stream.async_read_some(asio::buffer(buf.data(), want), asio::use_awaitable);
    if (!pattern.matches(start + got, buf.data(), n)) {
      throw std::runtime_error("stream corrupted between bytes " + std::to_string(got) + " and " +
                               std::to_string(got + n));
    }
    got += n;
  }
}

// Value below which a fraction q (0..1) of the samples lie (nearest rank).
double quantile(std::vector<double> samples, double q);

// One flat JSON object, printed on one line.
class JsonLine {
 public:
  JsonLine& add(const std::string& key, double value);
  JsonLine& add(const std::string& key, const std::string& value);
  JsonLine& add(const std::string& key, const std::vector<double>& values);
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::vector<std::uint16_t> parse_ports(const std::string& text);

// Lets one coroutine wait until `count` others have called done(). Single-threaded.
class WaitGroup {
 public:
  WaitGroup(asio::any_io_executor ex, std::size_t count)
      : timer_(ex, Clock::time_point::max()), left_(count) {}
  void done() {
    if (left_ > 0 && --left_ == 0) timer_.cancel();
  }
  std::size_t left() const { return left_; }
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
  std::size_t left_;
};

}  // namespace tpdp::bench
