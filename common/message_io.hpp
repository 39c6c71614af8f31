// Reading and writing whole wire messages on a socket.
#pragma once

#include <asio.hpp>
#include <string>
#include <system_error>

#include "protocol/bytes.hpp"

namespace tpdp {

// Thrown when a peer sends something that does not decode; carries the
// decoder's reason and error code.
class ProtocolViolation : public std::system_error {
 public:
  ProtocolViolation(Errc code, const std::string& reason)
      : std::system_error(make_error_code(code), reason) {}
};

// Reads until one T decodes from the front of `pending` (bytes already read
// stay there for the next message). Throws ProtocolViolation when malformed
// or longer than max_size, and asio errors (eof...) from the socket.
template <class T, class Stream>
asio::awaitable<T> read_message(Stream& stream, Bytes& pending, std::size_t max_size) {
  for (;;) {
    Reader r(pending);
    auto d = decode<T>(r);
    if (is_value(d)) {
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed()));
      co_return std::move(std::get<T>(d));
    }
    if (is_malformed(d)) {
      auto& m = std::get<Malformed>(d);
      throw ProtocolViolation(m.code, m.reason);
    }
    if (pending.size() >= max_size)
      throw ProtocolViolation(Errc::limit_reached, "message too long");
    std::size_t have = pending.size();
    pending.resize(max_size);
    std::size_t n = 0;
    try {
      n = co_await stream.async_read_some(asio::buffer(pending.data() + have, max_size - have),
                                          asio::use_awaitable);
    } catch (...) {
      pending.resize(have);
      throw;
    }
    pending.resize(have + n);
  }
}

template <class T, class Stream>
asio::awaitable<void> write_message(Stream& stream, const T& message) {
  Bytes out = encode_to_bytes(message);
  co_await asio::async_write(stream, asio::buffer(out), asio::use_awaitable);
}

}  // namespace tpdp
