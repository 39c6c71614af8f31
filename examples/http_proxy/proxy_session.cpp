#include "examples/http_proxy/proxy_session.hpp"

#include <asio/experimental/awaitable_operators.hpp>

#include "common/deadline.hpp"
#include "common/net.hpp"
#include "examples/http_proxy/proxy_response.hpp"

namespace tpdp::http_proxy {
namespace {

constexpr std::size_t kClientReadSize = 16 * 1024;
constexpr std::size_t kCircuitReadSize = 64 * 1024;
// How long a client gets to read an error response before the connection closes.
constexpr auto kLingerTime = std::chrono::seconds(2);

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
  return fmt::format("{:g}", std::chrono::duration<double>(d).count());
}

// What --max-connections-per-source counts: an IPv4 client reaching an IPv6
// socket is still that IPv4 address.
std::string client_address(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

}  // namespace

Session::Session(asio::ip::tcp::socket client, ProxyContext& context)
    : ctx_(context),
      client_(std::move(client)),
      client_buf_(kClientReadSize),
      last_activity_(std::chrono::steady_clock::now()),
      idle_timer_(client_.get_executor()) {
  std::error_code ec;
  auto ep = client_.remote_endpoint(ec);
  peer_ = ec ? "client" : format_host_port(ep.address().to_string(), ep.port());
  source_ = ec ? "?" : client_address(ep.address());
  // The first request head is due --head-timeout after the connection opens.
  head_deadline_ = last_activity_ + ctx_.settings.head_timeout;
  slots_ = ctx_.slots;
  admission_ = slots_->admit(
      source_, [this] { shed(); }, slot_);
}

Session::~Session() {
  slots_->release(slot_);
}

asio::awaitable<void> Session::run(std::shared_ptr<Session> self) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, watchdog(self), asio::detached);
  try {
    co_await self->serve();
  } catch (const std::exception& e) {
    self->ctx_.log->error("{}: {}", self->peer_, e.what());
  }
  self->finished_ = true;
  self->slots_->release(self->slot_);
  self->idle_timer_.cancel();
  if (self->circuit_) self->circuit_->close();
  if (self->client_.is_open()) {
    // Our EOF ends a close-delimited response; draining what the client still
    // sends keeps the kernel from resetting the connection under the response.
    try {
      co_await with_deadline(linger_close(self->client_), kLingerTime);
    } catch (const std::exception&) {
    }
  }
  std::error_code ec;
  self->client_.close(ec);
}

asio::awaitable<void> Session::watchdog(std::shared_ptr<Session> self) {
  auto idle = self->ctx_.settings.idle_timeout;
  auto head_due = [&self] {
    return self->phase_ == Phase::reading_request && self->head_deadline_ &&
           self->interrupt_ == Interrupt::none;
  };
  while (!self->finished_) {
    auto wake = self->last_activity_ + idle;
    if (head_due()) wake = std::min(wake, *self->head_deadline_);
    self->idle_timer_.expires_at(wake);
    [[maybe_unused]] auto [ec] = co_await self->idle_timer_.async_wait(use_tuple);
    if (self->finished_) break;
    auto now = std::chrono::steady_clock::now();
    if (head_due() && now >= *self->head_deadline_) {
      // The pending read fails at once; the session answers 408 and closes.
      self->interrupt_ = Interrupt::head_timeout;
      std::error_code ignored;
      self->client_.cancel(ignored);
      continue;
    }
    if (now < self->last_activity_ + idle) continue;
    switch (self->phase_) {
      case Phase::building:
        // Each build step has its own deadline (--timeout).
        self->touch();
        break;
      case Phase::awaiting_response:
        // Cutting the circuit makes the pending read fail; the session answers 504.
        self->timed_out_ = true;
        if (self->circuit_) self->circuit_->close();
        self->touch();
        break;
      case Phase::reading_request:
      case Phase::relaying: {
        self->ctx_.log->debug("{}: idle for too long, closing", self->peer_);
        if (self->circuit_) self->circuit_->close();
        std::error_code ignored;
        self->client_.close(ignored);
        co_return;
      }
    }
  }
}

asio::awaitable<void> Session::serve() {
  if (admission_ != ConnectionSlots::Admission::admitted) {
    co_await refuse(admission_);
    co_return;
  }
  for (bool first = true;; first = false) {
    phase_ = Phase::reading_request;
    http::HeadParser parser(http::HeadParser::Kind::request);
    if (!co_await read_request_head(parser, first)) co_return;
    if (parser.state() == http::HeadParser::State::error) {
      const auto& problem = parser.problem();
      ctx_.bad_requests(peer_ + ": answered " + std::to_string(problem.status) + ": " +
                        problem.message);
      co_await respond(problem);
      co_return;
    }
    auto interpreted = http::interpret_request(parser.head());
    if (auto* problem = std::get_if<http::Problem>(&interpreted)) {
      ctx_.bad_requests(peer_ + ": answered " + std::to_string(problem->status) + ": " +
                        problem->message);
      co_await respond(*problem);
      co_return;
    }
    const auto& request = std::get<http::ProxyRequest>(interpreted);
    if (request.is_connect()) {
      co_await tunnel(request);
      co_return;
    }
    if (!co_await forward(request)) co_return;
  }
}

asio::awaitable<bool> Session::read_request_head(http::HeadParser& parser, bool first) {
  using State = ConnectionSlots::State;
  // The first head's deadline runs from the connection's start (set then);
  // a later one's from its first byte: until then --idle-timeout applies.
  if (!first) head_deadline_.reset();
  slots_->set_state(slot_, first ? State::awaiting_head : State::between_requests);
  bool started = false;
  auto done = [&](bool ok) {
    slots_->set_state(slot_, State::serving);
    head_deadline_.reset();
    return ok;
  };
  for (;;) {
    if (!in_.empty()) {
      std::size_t used = 0;
      auto state = parser.feed(in_, used);
      in_.erase(0, used);
      if (state != http::HeadParser::State::need_more) co_return done(true);
    }
    if (!started && !parser.idle()) {
      started = true;
      slots_->set_state(slot_, State::sending_head);
      if (!head_deadline_) {
        head_deadline_ = std::chrono::steady_clock::now() + ctx_.settings.head_timeout;
        idle_timer_.cancel();  // the watchdog now waits for the head deadline
      }
    }
    if (interrupt_ == Interrupt::none) {
      auto [ec, n] = co_await client_.async_read_some(
          asio::buffer(client_buf_.data(), client_buf_.size()), use_tuple);
      if (interrupt_ == Interrupt::none) {
        if (ec) {
          if (!parser.idle()) ctx_.log->debug("{}: connection ended inside a request head", peer_);
          co_return done(false);
        }
        touch();
        in_.append(client_buf_.data(), n);
        continue;
      }
    }
    done(false);
    co_await head_interrupted(parser);
    co_return false;
  }
}

asio::awaitable<void> Session::head_interrupted(const http::HeadParser& parser) {
  const auto& s = ctx_.settings;
  if (interrupt_ == Interrupt::head_timeout) {
    std::string limit = seconds_text(s.head_timeout) + " s (--head-timeout)";
    if (parser.idle()) {
      ctx_.head_timeouts(peer_ + ": no request within " + limit + ": closed");
      std::error_code ignored;
      client_.close(ignored);
      co_return;
    }
    ctx_.head_timeouts(peer_ + ": request head not complete within " + limit + ": answered 408");
    // (A named Problem: GCC 12 destroys a braced temporary in co_await twice.)
    http::Problem late{408, "the request head did not arrive complete within " + limit};
    co_await respond(late);
    co_return;
  }
  std::string why = "the proxy is full (--max-connections " + std::to_string(s.max_connections) +
                    ") and this connection had waited longest for a request head";
  if (parser.idle()) {
    ctx_.refused(peer_ + ": closed to make room for a new connection: " + why);
    std::error_code ignored;
    client_.close(ignored);
    co_return;
  }
  ctx_.refused(peer_ + ": answered 503 to make room for a new connection: " + why);
  http::Problem shed{503, why + ": closed to make room for a new one"};
  co_await respond(shed);
}

asio::awaitable<void> Session::refuse(ConnectionSlots::Admission why) {
  const auto& slots = *slots_;
  http::Problem busy{503, ""};
  if (why == ConnectionSlots::Admission::source_full) {
    busy.message = "too many connections from " + source_ + " (--max-connections-per-source " +
                   std::to_string(slots.max_per_source()) + ")";
  } else {
    busy.message = "too many client connections (--max-connections " + std::to_string(slots.max()) +
                   "), none of them waiting for a request head";
  }
  if (ctx_.refusing >= ProxyContext::kMaxRefusing) {
    ctx_.refused(peer_ + ": closed unanswered (" + std::to_string(ctx_.refusing) +
                 " refusals in progress): " + busy.message);
    std::error_code ignored;
    client_.close(ignored);
    co_return;
  }
  ctx_.refused(peer_ + ": answered 503: " + busy.message);
  ++ctx_.refusing;
  co_await respond(busy);
  --ctx_.refusing;
}

void Session::shed() {
  if (interrupt_ != Interrupt::none) return;
  interrupt_ = Interrupt::shed;
  std::error_code ignored;
  client_.cancel(ignored);  // a pending head read ends at once
}

asio::awaitable<std::optional<http::Problem>> Session::build(const HostPort& destination) {
  auto ex = co_await asio::this_coro::executor;
  phase_ = Phase::building;
  BuildStage stage = BuildStage::choosing_path;
  std::vector<NodeDescriptor> path;
  std::exception_ptr failure;
  circuit_ = std::make_unique<Circuit>(
      ex, CircuitOptions{ctx_.settings.step_timeout, ctx_.settings.protocol});
  try {
    path = co_await ctx_.directory.pick_path(ctx_.settings.hops);
    stage = BuildStage::extending;
    co_await circuit_->connect(path[0]);
    for (std::size_t i = 1; i < path.size(); ++i) co_await circuit_->extend(path[i]);
    stage = BuildStage::opening_stream;
    co_await circuit_->begin(destination.host, destination.port);
  } catch (...) {
    failure = std::current_exception();
  }
  touch();
  if (!failure) co_return std::nullopt;
  auto problem =
      problem_from_build_failure(failure, stage, destination, circuit_->last_error_detail());
  circuit_.reset();
  co_return problem;
}

// ---- plain requests ----

asio::awaitable<bool> Session::forward(const http::ProxyRequest& request) {
  using namespace asio::experimental::awaitable_operators;
  auto started = std::chrono::steady_clock::now();
  auto built = co_await build(request.destination);
  if (built) {
    co_await answer(*built);
    co_return false;
  }
  double build_ms = ms_since(started);

  upload_ = request.body.kind == http::BodyFraming::none ? Upload::done : Upload::running;
  stopping_upload_ = false;
  problem_.reset();
  keep_alive_ = false;
  cut_ = false;
  timed_out_ = false;
  status_ = 0;
  response_bytes_ = 0;

  phase_ = Phase::awaiting_response;
  std::string head = http::destination_head(request);
  auto [ec, n] = co_await asio::async_write(*circuit_, asio::buffer(head), use_tuple);
  if (ec) {
    auto problem = problem_from_stream_error(ec, circuit_->last_error_detail());
    co_await end_circuit(false);
    co_await answer(problem);
    co_return false;
  }
  // The body goes up while the response comes down: a destination may answer
  // early (an error, or 100 Continue before the body is sent).
  co_await (upload(request) && download(request));

  bool request_complete = upload_ == Upload::done;
  co_await end_circuit(request_complete && !cut_);
  if (status_ == 0) {
    // No response reached the client: say why (unless the client is gone).
    if (problem_) co_await answer(*problem_);
    co_return false;
  }
  if (cut_) {
    ctx_.log->info("{}: {} response cut short after {} body bytes; reset the client connection",
                   peer_, status_, response_bytes_);
    abort_client();
    co_return false;
  }
  ctx_.log->debug("{}: {} {} -> {} ({} body bytes; circuit {:.1f} ms, total {:.1f} ms)", peer_,
                  request.method, format_host_port(request.destination), status_, response_bytes_,
                  build_ms, ms_since(started));
  co_return keep_alive_&& request_complete;
}

void Session::stop_upload() {
  stopping_upload_ = true;
  if (upload_ != Upload::running) return;
  // Its pending read or write fails at once, and it ends.
  std::error_code ignored;
  client_.cancel(ignored);
  if (circuit_) circuit_->close();
}

asio::awaitable<void> Session::upload(const http::ProxyRequest& request) {
  if (upload_ != Upload::running) co_return;
  http::BodyDecoder decoder(request.body);
  bool chunked = request.body.kind == http::BodyFraming::chunked;
  std::string data, framed;
  for (;;) {
    if (!in_.empty()) {
      data.clear();
      std::size_t used = 0;
      auto result = decoder.feed(in_, used, data);
      in_.erase(0, used);
      if (result == http::BodyDecoder::Result::error) {
        problem_ = http::Problem{400, "malformed chunked request body: " + decoder.error()};
        upload_ = Upload::failed;
        if (circuit_) circuit_->close();  // the destination must not take it as complete
        co_return;
      }
      bool last = result == http::BodyDecoder::Result::done;
      if (chunked) {
        // Re-framed: the destination sees exactly the chunks this proxy parsed.
        framed.clear();
        http::append_chunk(framed, data);
        if (last) framed += http::kLastChunk;
      }
      const std::string& out = chunked ? framed : data;
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(*circuit_, asio::buffer(out), use_tuple);
        if (ec) {
          // The destination stopped reading; its response (if any) still comes down.
          upload_ = Upload::failed;
          co_return;
        }
        touch();
      }
      if (last) {
        upload_ = Upload::done;
        co_return;
      }
    }
    if (stopping_upload_) co_return;
    auto [ec, n] = co_await client_.async_read_some(
        asio::buffer(client_buf_.data(), client_buf_.size()), use_tuple);
    if (stopping_upload_) co_return;
    if (ec) {
      upload_ = Upload::client_gone;
      if (circuit_) circuit_->close();
      co_return;
    }
    touch();
    in_.append(client_buf_.data(), n);
  }
}

asio::awaitable<void> Session::download(const http::ProxyRequest& request) {
  std::vector<char> buf(kCircuitReadSize);
  std::string pending;  // response bytes not used yet
  auto response = co_await receive_response_head(request, buf, pending);
  if (response) co_await relay_response(request, *response, buf, pending);
}

asio::awaitable<std::optional<http::ProxyResponse>> Session::receive_response_head(
    const http::ProxyRequest& request, std::vector<char>& buf, std::string& pending) {
  // 1xx heads are relayed (to HTTP/1.1 clients), then the next head is read.
  for (;;) {
    http::HeadParser parser(http::HeadParser::Kind::response);
    for (;;) {
      if (!pending.empty()) {
        std::size_t used = 0;
        auto state = parser.feed(pending, used);
        pending.erase(0, used);
        if (state != http::HeadParser::State::need_more) break;
      }
      auto [ec, n] = co_await circuit_->async_read_some(asio::buffer(buf), use_tuple);
      if (ec) {
        if (upload_ != Upload::client_gone && !problem_) {
          problem_ = no_response_problem(ec, parser.idle());
        }
        stop_upload();
        co_return std::nullopt;
      }
      touch();
      pending.append(buf.data(), n);
    }
    if (parser.state() == http::HeadParser::State::error) {
      problem_ = http::Problem{
          502, "the destination sent a malformed response head: " + parser.problem().message};
      stop_upload();
      co_return std::nullopt;
    }
    auto interpreted = http::interpret_response(parser.head(), request.method);
    if (auto* problem = std::get_if<http::Problem>(&interpreted)) {
      problem_ = *problem;
      stop_upload();
      co_return std::nullopt;
    }
    auto& response = std::get<http::ProxyResponse>(interpreted);
    if (!response.informational()) co_return std::move(response);
    if (request.version_minor == 1) {
      std::string interim = http::client_head(response, request.version_minor, false);
      auto [ec, n] = co_await asio::async_write(client_, asio::buffer(interim), use_tuple);
      if (ec) {
        upload_ = Upload::client_gone;
        stop_upload();
        co_return std::nullopt;
      }
    }
  }
}

http::Problem Session::no_response_problem(std::error_code ec, bool nothing_received) const {
  if (timed_out_) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(ctx_.settings.idle_timeout);
    return {504, "the destination sent no response within " + std::to_string(secs.count()) +
                     " s (--idle-timeout)"};
  }
  if (ec == asio::error::eof) {
    return {502, nothing_received ? "the destination closed the connection without a response"
                                  : "the destination's response head was cut short"};
  }
  return problem_from_stream_error(ec, circuit_->last_error_detail());
}

asio::awaitable<void> Session::relay_response(const http::ProxyRequest& request,
                                              const http::ProxyResponse& response,
                                              std::vector<char>& buf, std::string& pending) {
  phase_ = Phase::relaying;
  status_ = response.status;
  // A destination answering before it has the whole request body (an early
  // error) ends the exchange: the rest of the body is not read.
  keep_alive_ = request.keep_alive && upload_ != Upload::running &&
                !http::body_ends_with_close(response, request.version_minor);
  std::string head = http::client_head(response, request.version_minor, keep_alive_);
  auto [head_ec, head_n] = co_await asio::async_write(client_, asio::buffer(head), use_tuple);
  if (head_ec) {
    cut_ = true;
    stop_upload();
    co_return;
  }
  http::BodyDecoder decoder(response.body);
  bool rechunk = http::rechunk_for(response, request.version_minor);
  std::string data, framed;
  bool complete = decoder.done();
  while (!complete) {
    if (!pending.empty()) {
      data.clear();
      std::size_t used = 0;
      auto result = decoder.feed(pending, used, data);
      pending.erase(0, used);
      if (result == http::BodyDecoder::Result::error) {
        ctx_.log->info("{}: the destination's chunked body is malformed: {}", peer_,
                       decoder.error());
        break;
      }
      bool last = result == http::BodyDecoder::Result::done;
      if (rechunk) {
        framed.clear();
        http::append_chunk(framed, data);
        if (last) framed += http::kLastChunk;
      }
      const std::string& out = rechunk ? framed : data;
      if (!out.empty()) {
        auto [ec, n] = co_await asio::async_write(client_, asio::buffer(out), use_tuple);
        if (ec) break;
        touch();
      }
      if (last) {
        complete = true;
        break;
      }
    }
    auto [ec, n] = co_await circuit_->async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof && response.body.kind == http::BodyFraming::until_close) {
      complete = true;
      break;
    }
    if (ec) {
      ctx_.log->debug("{}: response stream ended: {}", peer_, ec.message());
      break;
    }
    touch();
    pending.append(buf.data(), n);
  }
  response_bytes_ = decoder.content_bytes();
  cut_ = !complete;
  if (upload_ == Upload::running || cut_) stop_upload();
}

// ---- CONNECT ----

asio::awaitable<void> Session::tunnel(const http::ProxyRequest& request) {
  using namespace asio::experimental::awaitable_operators;
  auto started = std::chrono::steady_clock::now();
  auto built = co_await build(request.destination);
  if (built) {
    co_await answer(*built);
    co_return;
  }
  static const std::string kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
  auto [ec, n] = co_await asio::async_write(client_, asio::buffer(kEstablished), use_tuple);
  if (ec) {
    co_await end_circuit(false);
    co_return;
  }
  ctx_.log->debug("{}: tunnel to {} open (circuit {:.1f} ms)", peer_,
                  format_host_port(request.destination), ms_since(started));
  phase_ = Phase::relaying;
  co_await (tunnel_up() && tunnel_down());
  circuit_.reset();
  ctx_.log->debug("{}: tunnel to {} closed after {:.1f} ms", peer_,
                  format_host_port(request.destination), ms_since(started));
}

// Client to destination; the client's half-close becomes the circuit's END.
asio::awaitable<void> Session::tunnel_up() {
  if (!in_.empty()) {
    // Sent right behind the CONNECT head (a client not waiting for the 200).
    auto [ec, n] = co_await asio::async_write(*circuit_, asio::buffer(in_), use_tuple);
    in_.clear();
    if (ec) {
      circuit_->close();
      co_return;
    }
  }
  for (;;) {
    auto [ec, n] = co_await client_.async_read_some(
        asio::buffer(client_buf_.data(), client_buf_.size()), use_tuple);
    if (ec == asio::error::eof) {
      [[maybe_unused]] auto [shut_ec] = co_await circuit_->async_shutdown_send(use_tuple);
      co_return;
    }
    if (ec) {
      circuit_->close();  // cut: the destination must not see a clean end
      co_return;
    }
    touch();
    auto [write_ec, written] =
        co_await asio::async_write(*circuit_, asio::buffer(client_buf_.data(), n), use_tuple);
    if (write_ec) {
      circuit_->close();
      co_return;
    }
  }
}

// Destination to client; the circuit's clean end becomes the client's EOF,
// anything else resets the client connection.
asio::awaitable<void> Session::tunnel_down() {
  std::vector<char> buf(kCircuitReadSize);
  for (;;) {
    auto [ec, n] = co_await circuit_->async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) {
      std::error_code ignored;
      client_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) {
      ctx_.log->debug("{}: tunnel stream failed: {}", peer_, ec.message());
      abort_client();
      co_return;
    }
    touch();
    auto [write_ec, written] =
        co_await asio::async_write(client_, asio::buffer(buf.data(), n), use_tuple);
    if (write_ec) {
      circuit_->close();
      abort_client();
      co_return;
    }
  }
}

// ---- endings ----

asio::awaitable<void> Session::answer(const http::Problem& problem) {
  ctx_.log->info("{}: answered {}: {}", peer_, problem.status, problem.message);
  co_await respond(problem);
}

asio::awaitable<void> Session::respond(const http::Problem& problem) {
  // The connection ends here: its slot is free while the answer lingers.
  slots_->release(slot_);
  std::string response = error_response(problem);
  auto [ec, n] = co_await asio::async_write(client_, asio::buffer(response), use_tuple);
  if (ec) co_return;
  try {
    co_await with_deadline(linger_close(client_), kLingerTime);
  } catch (const std::exception&) {
    // The client kept sending: close anyway.
  }
  std::error_code ignored;
  client_.close(ignored);
}

void Session::abort_client() {
  std::error_code ignored;
  if (!client_.is_open()) return;
  client_.set_option(asio::socket_base::linger(true, 0), ignored);
  client_.close(ignored);
}

asio::awaitable<void> Session::end_circuit(bool clean) {
  if (!circuit_) co_return;
  if (clean && circuit_->is_streaming()) {
    [[maybe_unused]] auto [ec] = co_await circuit_->async_shutdown_send(use_tuple);
  } else {
    circuit_->close();
  }
  circuit_.reset();
}

}  // namespace tpdp::http_proxy
