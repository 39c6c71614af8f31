// tpdp-client get: fetch one http:// URL over a fresh circuit, like curl:
// HTTP/1.1 with chunked and Content-Length bodies checked to the last byte,
// redirects followed with -L (each over a new circuit), a progress bar.
#include "client/cli_get.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "client/http_body.hpp"
#include "client/http_response.hpp"
#include "common/net.hpp"

namespace tpdp::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string format_bytes(double n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (n >= 1024 && unit < 4) {
    n /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%.0f B", n);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", n, kUnits[unit]);
  }
  return text;
}

std::string format_duration(double seconds) {
  auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  }
  return text;
}

// One line on stderr redrawn in place (\r) at most 5 times a second:
// percentage and bar when the size is known, bytes, average rate, ETA.
class ProgressMeter {
 public:
  explicit ProgressMeter(bool enabled) : enabled_(enabled) {}

  void start(std::optional<std::uint64_t> total) {
    active_ = enabled_;
    total_ = total;
    bytes_ = 0;
    started_ = Clock::now();
    last_draw_ = {};
  }
  void update(std::uint64_t bytes) {
    bytes_ = bytes;
    if (!active_ || Clock::now() - last_draw_ < std::chrono::milliseconds(200)) return;
    draw(false);
  }
  void finish() {
    if (!active_) return;
    draw(true);
    std::cerr << "\n" << std::flush;
    active_ = false;
  }
  // On failure: end the line so the error starts on its own.
  void abandon() {
    if (active_ && width_ > 0) std::cerr << "\n" << std::flush;
    active_ = false;
  }

 private:
  void draw(bool final) {
    last_draw_ = Clock::now();
    double elapsed = std::chrono::duration<double>(last_draw_ - started_).count();
    double rate = elapsed > 0.05 ? static_cast<double>(bytes_) / elapsed : 0;
    std::string line;
    if (total_ && *total_ > 0) {
      double fraction = std::min(1.0, static_cast<double>(bytes_) / static_cast<double>(*total_));
      constexpr int kBar = 20;
      int filled = static_cast<int>(fraction * kBar);
      char percent[8];
      std::snprintf(percent, sizeof percent, "%3d%% ", static_cast<int>(fraction * 100));
      line = percent;
      line += "[" + std::string(filled, '#') + std::string(kBar - filled, ' ') + "] ";
      line += format_bytes(static_cast<double>(bytes_)) + " / " +
              format_bytes(static_cast<double>(*total_));
    } else {
      line = format_bytes(static_cast<double>(bytes_));
    }
    line += "  " + (rate > 0 ? format_bytes(rate) + "/s" : std::string("--/s"));
    if (final) {
      line += "  in " + format_duration(elapsed);
    } else if (total_ && rate > 0 && *total_ >= bytes_) {
      line += "  ETA " + format_duration(static_cast<double>(*total_ - bytes_) / rate);
    } else {
      line += "  " + format_duration(elapsed);
    }
    std::size_t padded = std::max(line.size(), width_);
    width_ = line.size();
    line.resize(padded, ' ');
    std::cerr << "\r" << line << std::flush;
  }

  bool enabled_;
  bool active_ = false;
  std::optional<std::uint64_t> total_;
  std::uint64_t bytes_ = 0;
  Clock::time_point started_, last_draw_;
  std::size_t width_ = 0;
};

struct Exchange {
  HttpResponseHead head;
  bool redirect_followed = false;  // the body was left unread: a Location to follow
  std::uint64_t body_bytes = 0;
};

[[noreturn]] void stream_failed(Client& client, std::error_code ec) {
  std::string detail = client.circuit().last_error_detail();
  throw std::runtime_error("stream failed: " + ec.message() +
                           (detail.empty() ? "" : " (" + detail + ")"));
}

std::string request_for(const HttpUrl& url) {
  std::string host = format_http_url(url).substr(7);  // the authority, as in the URL
  host.resize(host.size() - url.path.size());
  return "GET " + url.path + " HTTP/1.1\r\nHost: " + host +
         "\r\nUser-Agent: tpdp-client/0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n";
}

// One request over a fresh circuit. The body goes to out unless the answer
// is a redirect that will be followed.
asio::awaitable<Exchange> exchange(Client& client, const Options& options, const HttpUrl& url,
                                   bool follow, std::ostream& out, ProgressMeter& progress) {
  co_await build_path(client, options, url.host, url.port);
  std::string request = request_for(url);
  co_await client.send(as_bytes(request));

  Exchange result;
  std::string received;  // head bytes, then whatever followed them in the same read
  std::vector<std::uint8_t> buf(4 * kMaxFramePayload);
  bool eof = false;
  // The head, skipping interim 1xx answers (100 Continue and the like).
  for (;;) {
    std::string error;
    auto head = parse_http_response_head(received, error);
    if (!error.empty()) throw std::runtime_error("bad response from " + url.host + ": " + error);
    if (head && head->status >= 200) {
      result.head = *head;
      received.erase(0, head->head_size);
      break;
    }
    if (head) {
      received.erase(0, head->head_size);
      continue;
    }
    if (eof) throw std::runtime_error("the server closed without a complete HTTP response");
    auto [ec, n] = co_await client.circuit().async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) {
      eof = true;
      continue;
    }
    if (ec) stream_failed(client, ec);
    received.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  if (follow && is_redirect_status(result.head.status) && result.head.location) {
    result.redirect_followed = true;
    co_await client.close();  // its body is of no use
    co_return result;
  }

  HttpBodyDecoder body(result.head);
  progress.start(body.expected_bytes());
  std::string decoded;
  auto take = [&](std::string_view bytes) {
    decoded.clear();
    bool well_formed = body.feed(bytes, decoded);
    out.write(decoded.data(), static_cast<std::streamsize>(decoded.size()));
    if (!out) throw std::runtime_error("writing the output failed");
    if (!well_formed) throw std::runtime_error(body.error());
    progress.update(body.body_bytes());
  };
  take(received);
  while (!body.complete() && !eof) {
    auto [ec, n] = co_await client.circuit().async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) break;
    if (ec) stream_failed(client, ec);
    take(std::string_view(reinterpret_cast<const char*>(buf.data()), n));
  }
  if (!body.complete()) {
    std::string why = body.end_of_stream();
    if (!why.empty()) throw std::runtime_error(why);
  }
  progress.finish();
  // A clean end of our direction, so the path sees a finished circuit, not a cut.
  co_await client.close();
  result.body_bytes = body.body_bytes();
  co_return result;
}

asio::awaitable<Exchange> fetch(Client& client, const Options& options, const GetOptions& get,
                                HttpUrl url, std::ostream& out, ProgressMeter& progress) {
  for (int redirects = 0;; ++redirects) {
    auto result = co_await exchange(client, options, url, get.follow_redirects, out, progress);
    if (!result.redirect_followed) co_return result;
    if (redirects == get.max_redirects) {
      throw std::runtime_error("too many redirects (more than " +
                               std::to_string(get.max_redirects) + ")");
    }
    std::string error;
    auto next = resolve_location(url, *result.head.location, error);
    if (!next) throw std::runtime_error("cannot follow the redirect: " + error);
    if (options.verbose) {
      std::cerr << "tpdp-client: HTTP " << result.head.status << " " << result.head.reason
                << ": redirected to " << format_http_url(*next) << "\n";
    }
    url = *next;
  }
}

}  // namespace

int run_get(const Options& options, const GetOptions& get_options) {
  std::string error;
  auto url = parse_http_url(get_options.url, error);
  if (!url) throw std::invalid_argument(error);
  const std::string& output = get_options.output;
  std::ofstream file;
  std::filesystem::path partial;
  if (!output.empty() && output != "-") {
    partial = output + ".part";
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + partial.string());
  }
  std::ostream& out = partial.empty() ? std::cout : file;
  ProgressMeter progress(get_options.progress.value_or(::isatty(STDERR_FILENO) == 1));
  asio::io_context io;
  Client client(io.get_executor(), {options.data_dir, options.timeout, warn, options.protocol});
  // Ctrl-C or SIGTERM: stop, and leave no FILE.part behind.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int interrupted = 0;
  signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    interrupted = sig;
    io.stop();
  });
  std::exception_ptr failure;
  Exchange result;
  auto started = Clock::now();
  asio::co_spawn(io, fetch(client, options, get_options, *url, out, progress),
                 [&](std::exception_ptr e, Exchange r) {
                   failure = e;
                   result = std::move(r);
                   signals.cancel();
                 });
  io.run();
  out.flush();
  if (!failure && !interrupted && !out) {
    failure = std::make_exception_ptr(std::runtime_error("writing the output failed"));
  }
  if (!failure && !interrupted && !partial.empty()) {
    file.close();
    std::error_code ec;
    if (!file) {
      failure =
          std::make_exception_ptr(std::runtime_error("writing " + partial.string() + " failed"));
    } else if (std::filesystem::rename(partial, output, ec); ec) {
      failure = std::make_exception_ptr(std::runtime_error("cannot rename " + partial.string() +
                                                           " to " + output + ": " + ec.message()));
    }
  }
  if (failure || interrupted) {
    progress.abandon();
    if (!partial.empty()) {
      file.close();
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
    }
    if (failure) std::rethrow_exception(failure);
    std::cerr << "tpdp-client: interrupted\n";
    return 128 + interrupted;
  }
  const auto& head = result.head;
  if (options.verbose) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f",
                  std::chrono::duration<double>(Clock::now() - started).count());
    std::cerr << "tpdp-client: HTTP " << head.status << " " << head.reason << ", "
              << result.body_bytes << " bytes in " << seconds << " s\n";
  }
  if (head.status < 200 || head.status > 299) {
    std::cerr << "tpdp-client: error: HTTP status " << head.status << " " << head.reason;
    if (is_redirect_status(head.status) && head.location) {
      std::cerr << " (Location: " << *head.location << "; add -L to follow)";
    }
    std::cerr << "\n";
    return 3;
  }
  return 0;
}

int run_get(const Options& options, const std::string& url, const std::string& output) {
  GetOptions get;
  get.url = url;
  get.output = output;
  return run_get(options, get);
}

}  // namespace tpdp::cli
