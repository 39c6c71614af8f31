// One client connection of tpdp-http-proxy: requests read one after the
// other (keep-alive), each sent over a fresh circuit; CONNECT tunnels.
#pragma once

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/circuit.hpp"
#include "common/logging.hpp"
#include "examples/http_proxy/connection_slots.hpp"
#include "examples/http_proxy/error_response.hpp"
#include "examples/http_proxy/node_directory.hpp"
#include "examples/http_proxy/proxy_request.hpp"
#include "examples/http_proxy/proxy_response.hpp"

namespace tpdp::http_proxy {

struct ProxySettings {
  std::size_t hops = 3;
  std::chrono::milliseconds step_timeout{10000};  // each pool request and build step
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(120);
  // The whole request head must arrive within this: counted from the
  // connection's start for its first request, from the first byte of each
  // later one (between keep-alive requests idle_timeout applies).
  std::chrono::steady_clock::duration head_timeout = std::chrono::seconds(30);
  std::size_t max_connections = 512;
  std::size_t max_per_source = 64;                    // connections from one client address
  ProtocolVersion protocol = ProtocolVersion::tpdp1;  // --protocol
};

// What every session shares.
struct ProxyContext {
  ProxyContext(ProxySettings s, NodeDirectory& d, Logger l)
      : settings(s),
        directory(d),
        log(l),
        slots(std::make_shared<ConnectionSlots>(s.max_connections,
                                                std::min(s.max_per_source, s.max_connections))),
        refused(l),
        bad_requests(l),
        head_timeouts(l) {}

  ProxySettings settings;
  NodeDirectory& directory;
  Logger log;
  // Shared with the sessions: a session destroyed with the io_context at
  // exit, after this context, still releases its slot.
  std::shared_ptr<ConnectionSlots> slots;
  // Per-connection warnings a flood could repeat: at most one a second each.
  ThrottledWarning refused;        // over a limit, or shed
  ThrottledWarning bad_requests;   // malformed request heads
  ThrottledWarning head_timeouts;  // --head-timeout expired
  // Connections over a limit being answered 503 (they hold no slot); past
  // kMaxRefusing at once, more are closed unanswered.
  std::size_t refusing = 0;
  static constexpr std::size_t kMaxRefusing = 64;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket client, ProxyContext& context);
  ~Session();
  Session(const Session&) = delete;

  // Serves the connection to its end; never throws.
  static asio::awaitable<void> run(std::shared_ptr<Session> self);

 private:
  // What the idle watchdog does when nothing moved for --idle-timeout.
  enum class Phase { reading_request, building, awaiting_response, relaying };
  // Why a wait for a request head was cut short.
  enum class Interrupt { none, head_timeout, shed };
  enum class Upload { running, done, failed, client_gone };

  asio::awaitable<void> serve();
  static asio::awaitable<void> watchdog(std::shared_ptr<Session> self);
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  // Reads until the parser has a complete head or an error; false when the
  // client went away or the wait was interrupted (answered and closed then).
  asio::awaitable<bool> read_request_head(http::HeadParser& parser, bool first);
  asio::awaitable<void> head_interrupted(const http::HeadParser& parser);
  // A connection over a limit: answered 503 and closed.
  asio::awaitable<void> refuse(ConnectionSlots::Admission why);
  // Called by the slot table when this connection's slot is taken back.
  void shed();
  // Builds a fresh circuit to the destination; the problem to answer if it failed.
  asio::awaitable<std::optional<http::Problem>> build(const HostPort& destination);

  // A plain request; true when the connection stays open for the next one.
  asio::awaitable<bool> forward(const http::ProxyRequest& request);
  asio::awaitable<void> upload(const http::ProxyRequest& request);
  asio::awaitable<void> download(const http::ProxyRequest& request);
  asio::awaitable<std::optional<http::ProxyResponse>> receive_response_head(
      const http::ProxyRequest& request, std::vector<char>& buf, std::string& pending);
  http::Problem no_response_problem(std::error_code ec, bool nothing_received) const;
  asio::awaitable<void> relay_response(const http::ProxyRequest& request,
                                       const http::ProxyResponse& response, std::vector<char>& buf,
                                       std::string& pending);
  void stop_upload();

  asio::awaitable<void> tunnel(const http::ProxyRequest& request);
  asio::awaitable<void> tunnel_up();
  asio::awaitable<void> tunnel_down();

  // Sends an error response (logged), then closes the connection gracefully.
  asio::awaitable<void> answer(const http::Problem& problem);
  // The same, unlogged (the caller logged it).
  asio::awaitable<void> respond(const http::Problem& problem);
  // Resets the client connection: a cut response must not look complete.
  void abort_client();
  // Ends the circuit: cleanly (END) when `clean`, else cut.
  asio::awaitable<void> end_circuit(bool clean);

  ProxyContext& ctx_;
  std::string peer_;
  std::string source_;  // the client's address: what --max-connections-per-source counts
  ConnectionSlots::Admission admission_ = ConnectionSlots::Admission::full;
  std::shared_ptr<ConnectionSlots> slots_;
  ConnectionSlots::Id slot_ = 0;
  asio::ip::tcp::socket client_;
  std::vector<char> client_buf_;
  std::string in_;  // client bytes received and not used yet
  std::unique_ptr<Circuit> circuit_;

  Phase phase_ = Phase::reading_request;
  std::chrono::steady_clock::time_point last_activity_;
  asio::steady_timer idle_timer_;
  bool finished_ = false;
  bool timed_out_ = false;  // the watchdog gave up waiting for a response
  // When the request head being read must be complete (none: between requests).
  std::optional<std::chrono::steady_clock::time_point> head_deadline_;
  Interrupt interrupt_ = Interrupt::none;

  // State of one forwarded request, shared by upload() and download().
  Upload upload_ = Upload::done;
  bool stopping_upload_ = false;
  std::optional<http::Problem> problem_;  // to answer instead of a response
  bool keep_alive_ = false;
  bool cut_ = false;  // the response was cut short: reset the client
  int status_ = 0;
  std::uint64_t response_bytes_ = 0;
};

}  // namespace tpdp::http_proxy
