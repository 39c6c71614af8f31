#include "bench/bench_support.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "client/pool_client.hpp"
#include "common/deadline.hpp"
#include "common/pool_address.hpp"

namespace tpdp::bench {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::uint64_t raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

std::optional<ProcessSample> sample_process(int pid, bool count_descriptors) {
  ProcessSample s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // The command name (field 2) may hold spaces: fields are counted after its ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
  if (fields.size() < 13) return std::nullopt;
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  s.cpu_seconds = ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    auto kib = [&](const char* key) -> std::optional<std::uint64_t> {
      if (line.rfind(key, 0) != 0) return std::nullopt;
      return std::stoull(line.substr(std::strlen(key))) * 1024;
    };
    if (auto v = kib("VmRSS:")) s.rss_bytes = *v;
    if (auto v = kib("VmHWM:")) s.peak_bytes = *v;
  }
  std::error_code ec;
  if (!count_descriptors) return s;
  for (auto it = std::filesystem::directory_iterator(dir + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++s.descriptors;
  }
  return s;
}

asio::awaitable<std::vector<NodeDescriptor>> path_by_ports(
    const std::string& pool_address, const std::vector<std::uint16_t>& ports) {
  std::string error;
  auto pool = parse_pool_address(pool_address, &error);
  if (!pool || !pool->pinned_key) {
    throw std::invalid_argument("--pool needs HOST:PORT@FINGERPRINT: " + error);
  }
  auto list = co_await fetch_node_list(*pool, nullptr, std::chrono::seconds(10));
  std::vector<NodeDescriptor> path;
  for (auto port : ports) {
    auto it = std::find_if(list.nodes.begin(), list.nodes.end(),
                           [&](const NodeDescriptor& n) { return n.port == port; });
    if (it == list.nodes.end()) {
      throw std::runtime_error("no node listening on port " + std::to_string(port) +
                               " is listed by the pool");
    }
    path.push_back(*it);
  }
  co_return path;
}

asio::awaitable<void> build_circuit(Circuit& circuit, const std::vector<NodeDescriptor>& path,
                                    std::uint16_t dest_port) {
  co_await circuit.connect(path.front());
  for (std::size_t i = 1; i < path.size(); ++i) co_await circuit.extend(path[i]);
  const std::string host = "127.0.0.1";
  co_await circuit.begin(host, dest_port);
}

asio::awaitable<void> finish_circuit(Circuit& circuit, std::chrono::milliseconds bound) {
  auto end_both_ways = [&]() -> asio::awaitable<void> {
    co_await circuit.async_shutdown_send(asio::use_awaitable);
    std::uint8_t sink[256];
    // The source sends nothing more: the exit's END (EOF) comes next. Bounded
    // by the deadline; every pass reads at least one byte or ends.
    for (;;) {
      auto [ec, n] = co_await circuit.async_read_some(
          asio::buffer(sink), asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) break;
    }
  };
  try {
    co_await with_deadline(end_both_ways(), bound);
  } catch (const std::system_error&) {
  }
  circuit.close();
}

asio::awaitable<void> WaitGroup::wait() {
  // Each pass ends when done() cancels the timer; the count only goes down.
  while (left_ > 0) {
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
}

double quantile(std::vector<double> samples, double q) {
  if (samples.empty()) return std::nan("");
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

JsonLine& JsonLine::add(const std::string& key, double value) {
  std::ostringstream out;
  out.precision(9);
  if (std::isfinite(value))
    out << value;
  else
    out << "null";
  fields_.emplace_back(key, out.str());
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, const std::string& value) {
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
  }
  fields_.emplace_back(key, quoted + "\"");
  return *this;
}

JsonLine& JsonLine::add(const std::string& key, const std::vector<double>& values) {
  std::ostringstream out;
  out.precision(9);
  out << "[";
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  out << "]";
  fields_.emplace_back(key, out.str());
  return *this;
}

std::string JsonLine::str() const {
  std::string s = "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    s += (i ? ", \"" : "\"") + fields_[i].first + "\": " + fields_[i].second;
  }
  return s + "}";
}

std::vector<std::uint16_t> parse_ports(const std::string& text) {
  std::vector<std::uint16_t> ports;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    int p = std::stoi(item);
    if (p <= 0 || p > 65535) throw std::invalid_argument("bad port '" + item + "'");
    ports.push_back(static_cast<std::uint16_t>(p));
  }
  if (ports.empty()) throw std::invalid_argument("no ports in '" + text + "'");
  return ports;
}

}  // namespace tpdp::bench
