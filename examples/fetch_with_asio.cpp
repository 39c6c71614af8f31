// tpdp-example-fetch: fetch one HTTP/1.0 page through a tpdp circuit, using
// the client library "the Asio way".
//
//   tpdp-example-fetch --pool 127.0.0.1:8080 --hops 3 --data-dir /tmp/ex example.org 80 /
//
// tpdp::Client only builds the circuit (sync the pool's node list, pick a
// random path, ask the exit to connect). After that, client.circuit() is an
// ordinary Asio AsyncReadStream/AsyncWriteStream, so the stock composed
// operations work on it unchanged: asio::async_write, asio::async_read_until,
// asio::async_read... with any completion token. This program uses three:
//
//   1. asio::use_awaitable inside coroutines (most of the work);
//   2. plain callback lambdas, for the half-close (async_shutdown_send) and
//      for an overall deadline (asio::steady_timer);
//   3. co_spawn's own completion handler, to chain the stages together.
//
// Note (GCC 12 coroutine bug): inside the coroutines below, arguments of
// co_awaited calls are never temporaries with non-trivial destructors
// (std::string, std::vector...), and no such local lives inside a try block
// that contains a co_await. Strings are named locals declared up front.
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <asio/redirect_error.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>

#include "client/client.hpp"

namespace {

struct Args {
  tpdp::PoolAddress pool;
  std::size_t hops = 3;
  std::string data_dir;
  std::string host;
  std::uint16_t port = 80;
  std::string path = "/";
  double timeout = 30;  // seconds for the whole fetch
};

// Stage 1 (coroutine): build the circuit and send the request.
asio::awaitable<void> build_and_send(tpdp::Client& client, const Args& args,
                                     const std::string& request) {
  std::size_t added = co_await client.sync_nodes_list(args.pool);
  std::cerr << "fetch: the pool lists " << added << " node(s)\n";

  // n distinct random nodes; the last one (the exit) connects to host:port.
  co_await client.random_path_to_destination(args.host, args.port, args.hops);
  tpdp::Circuit& circuit = client.circuit();
  std::cerr << "fetch: circuit of " << circuit.hop_count() << " hop(s) to "
            << tpdp::format_host_port(args.host, args.port) << " is open\n";

  // The stock composed write: it calls circuit.async_write_some() until all
  // of the request is sent (one sealed DATA frame per call, up to 16 KiB).
  std::size_t sent =
      co_await asio::async_write(circuit, asio::buffer(request), asio::use_awaitable);
  std::cerr << "fetch: sent " << sent << " bytes of request\n";
}

// Stage 3 (coroutine): read the response head, then the body until EOF.
asio::awaitable<void> read_response(tpdp::Circuit& circuit, std::string& status_line,
                                    std::uint64_t& body_size) {
  // Read until the blank line that ends the HTTP head. dynamic_buffer grows
  // the string as needed; it may also receive some body bytes past the
  // delimiter, which async_read_until leaves in the buffer for us.
  std::string head;
  std::size_t head_size = co_await asio::async_read_until(circuit, asio::dynamic_buffer(head),
                                                          "\r\n\r\n", asio::use_awaitable);
  status_line = head.substr(0, head.find("\r\n"));

  // The body: whatever came after the head, then everything up to EOF.
  // HTTP/1.0 with no keep-alive, so the server closes when done, and the
  // circuit reports asio::error::eof once the exit has relayed a clean END
  // (a cut circuit reports a different error instead).
  std::string body = head.substr(head_size);
  std::error_code ec;
  co_await asio::async_read(circuit, asio::dynamic_buffer(body), asio::transfer_all(),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec != asio::error::eof) throw std::system_error(ec, "reading the body");
  body_size = body.size();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fetch one page through a tpdp circuit using plain Asio algorithms."};
  Args args;
  std::string pool_text;
  app.add_option("--pool", pool_text, "Pool index HOST:PORT[@FINGERPRINT]")->required();
  app.add_option("--hops", args.hops, "Nodes in the path (1 to 8: the most a circuit may have)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, tpdp::kMaxCircuitHops));
  app.add_option("--data-dir", args.data_dir,
                 "Where pool keys trusted on first use are remembered (without it the pool "
                 "must be pinned with @FINGERPRINT)");
  app.add_option("--timeout", args.timeout, "Seconds allowed for the whole fetch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("host", args.host, "Destination host (resolved by the exit)")->required();
  app.add_option("port", args.port, "Destination port")->required()->check(CLI::Range(1, 65535));
  app.add_option("path", args.path, "Path to GET")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::string error;
  auto pool = tpdp::parse_pool_address(pool_text, &error);
  if (!pool) {
    std::cerr << "fetch: --pool: " << error << "\n";
    return 1;
  }
  args.pool = *pool;

  asio::io_context io;
  tpdp::Client client(io.get_executor(),
                      {.data_dir = args.data_dir, .on_warning = [](const std::string& w) {
                         std::cerr << "fetch: warning: " << w << "\n";
                       }});

  // The request lives here, in main, so it outlives every operation using it.
  std::string host_header = tpdp::format_host_port(args.host, args.port);
  std::string request = "GET " + args.path + " HTTP/1.0\r\nHost: " + host_header +
                        "\r\nUser-Agent: tpdp-example-fetch\r\nConnection: close\r\n\r\n";
  std::string status_line;
  std::uint64_t body_size = 0;
  std::exception_ptr failure;
  std::error_code shutdown_error;

  // An overall deadline, with a plain callback too. Closing the circuit
  // aborts whatever circuit operation is pending, which then fails. (Before
  // the circuit exists, the library's own per-step timeouts bound the pool
  // request; stage 1's completion handler checks the flag.)
  bool timed_out = false;
  asio::steady_timer deadline(io, std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(args.timeout)));
  deadline.async_wait([&](std::error_code ec) {
    if (ec) return;  // cancelled: we finished in time
    timed_out = true;
    if (client.has_circuit()) client.circuit().close();
  });

  // Stage 1: a coroutine. co_spawn's completion handler starts stage 2.
  asio::co_spawn(io, build_and_send(client, args, request), [&](std::exception_ptr e) {
    if (e || timed_out) {
      failure = e;
      deadline.cancel();
      return;
    }
    // Stage 2: the same kind of operation, but with a plain lambda as the
    // completion token instead of use_awaitable. We half-close our direction
    // (END frame): the server sees EOF on its side, and replies still flow.
    client.circuit().async_shutdown_send([&](std::error_code ec) {
      if (ec) {
        shutdown_error = ec;
        deadline.cancel();
        return;
      }
      // Stage 3: back to a coroutine for the reads.
      asio::co_spawn(io, read_response(client.circuit(), status_line, body_size),
                     [&](std::exception_ptr e) {
                       failure = e;
                       deadline.cancel();
                     });
    });
  });

  io.run();  // returns once no operation is pending

  if (timed_out) {
    std::cerr << "fetch: error: timed out after " << args.timeout << " s\n";
    return 1;
  }
  try {
    if (failure) std::rethrow_exception(failure);
    if (shutdown_error) throw std::system_error(shutdown_error, "half-closing the circuit");
  } catch (const std::exception& e) {
    std::cerr << "fetch: error: " << e.what();
    if (client.has_circuit() && !client.circuit().last_error_detail().empty())
      std::cerr << " (exit says: " << client.circuit().last_error_detail() << ")";
    std::cerr << "\n";
    return 1;
  }
  std::cout << status_line << "\n"
            << "body: " << body_size << " bytes\n";
  return 0;
}
