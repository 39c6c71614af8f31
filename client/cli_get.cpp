// tpdp-client get: fetch one http:// URL over a fresh circuit.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <asio/experimental/awaitable_operators.hpp>

#include "client/cli_common.hpp"
#include "client/http_response.hpp"
#include "common/net.hpp"

namespace tpdp::cli {
namespace {

struct GetResult {
  int status = 0;
  std::string reason;
  std::uint64_t body_bytes = 0;
};

asio::awaitable<GetResult> get(Client& client, const Options& options, const HttpUrl& url,
                               std::ostream& out) {
  co_await build_path(client, options, url.host, url.port);
  std::string host_header = url.port == 80 ? url.host : format_host_port(url.host, url.port);
  if (url.host.find(':') != std::string::npos && url.port == 80) host_header = "[" + url.host + "]";
  std::string request = "GET " + url.path + " HTTP/1.0\r\nHost: " + host_header +
                        "\r\nUser-Agent: tpdp-client\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  co_await client.send(as_bytes(request));
  co_await client.shutdown_send();

  GetResult result;
  std::string head_bytes;
  std::optional<HttpResponseHead> head;
  std::vector<std::uint8_t> buf(4 * kMaxFramePayload);
  for (;;) {
    auto [ec, n] = co_await client.circuit().async_read_some(asio::buffer(buf), use_tuple);
    if (ec == asio::error::eof) break;
    if (ec) {
      std::string detail = client.circuit().last_error_detail();
      throw std::runtime_error("stream failed: " + ec.message() +
                               (detail.empty() ? "" : " (" + detail + ")"));
    }
    const char* data = reinterpret_cast<const char*>(buf.data());
    if (!head) {
      head_bytes.append(data, n);
      std::string error;
      head = parse_http_response_head(head_bytes, error);
      if (!head) {
        if (!error.empty())
          throw std::runtime_error("bad response from " + url.host + ": " + error);
        continue;
      }
      if (head->chunked)
        throw std::runtime_error("the server sent a chunked body to an HTTP/1.0 request");
      std::size_t body = head_bytes.size() - head->head_size;
      out.write(head_bytes.data() + head->head_size, static_cast<std::streamsize>(body));
      result.body_bytes += body;
      continue;
    }
    out.write(data, static_cast<std::streamsize>(n));
    result.body_bytes += n;
  }
  if (!head) throw std::runtime_error("the server closed without a complete HTTP response");
  if (!out) throw std::runtime_error("writing the output failed");
  if (head->content_length && *head->content_length != result.body_bytes) {
    throw std::runtime_error("body truncated: got " + std::to_string(result.body_bytes) + " of " +
                             std::to_string(*head->content_length) + " bytes");
  }
  result.status = head->status;
  result.reason = head->reason;
  co_return result;
}

}  // namespace

int run_get(const Options& options, const std::string& url_text, const std::string& output) {
  std::string error;
  auto url = parse_http_url(url_text, error);
  if (!url) throw std::invalid_argument(error);
  std::ofstream file;
  std::filesystem::path partial;
  if (!output.empty() && output != "-") {
    partial = output + ".part";
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + partial.string());
  }
  std::ostream& out = output.empty() || output == "-" ? std::cout : file;
  asio::io_context io;
  Client client(io.get_executor(), {options.data_dir, options.timeout, warn});
  std::exception_ptr failure;
  GetResult result;
  asio::co_spawn(io, get(client, options, *url, out), [&](std::exception_ptr e, GetResult r) {
    failure = e;
    result = std::move(r);
  });
  io.run();
  if (failure) {
    if (!partial.empty()) std::filesystem::remove(partial);
    std::rethrow_exception(failure);
  }
  out.flush();
  if (!partial.empty()) {
    file.close();
    std::filesystem::rename(partial, output);
  }
  if (options.verbose) {
    std::cerr << "tpdp-client: HTTP " << result.status << " " << result.reason << ", "
              << result.body_bytes << " bytes\n";
  }
  if (result.status < 200 || result.status > 299) {
    std::cerr << "tpdp-client: error: HTTP status " << result.status << " " << result.reason
              << "\n";
    return 3;
  }
  return 0;
}

}  // namespace tpdp::cli
