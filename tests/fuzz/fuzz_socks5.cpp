// Fuzzes the SOCKS5 handshake state machine (client/socks5_handshake.hpp):
// any byte stream, cut into any chunks, must give the same result as when
// fed at once; outputs stay small; an accepted request is a valid CONNECT;
// a failure always has a reply to send; nothing is consumed once it is decided.
//
// Input: byte 0 seeds the chunk sizes, the rest is what the client sends.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/socks5_handshake.hpp"
#include "protocol/host.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tpdp;
using namespace tpdp::socks5;
using namespace tpdp::fuzz;

namespace {

struct Result {
  Handshake::Status status;
  Bytes output;
  std::size_t used = 0;
};

// Biggest output of a whole handshake: method reply (2), auth status (2),
// request reply (10).
constexpr std::size_t kMaxOutput = 14;

void check_decided(Handshake& hs, ByteView more) {
  if (hs.status() == Handshake::Status::need_more) return;
  check(hs.feed(more) == 0);
  check(hs.take_output().empty());
}

Result run(ByteView data, std::uint8_t seed) {
  Handshake hs;
  Result r;
  std::size_t at = 0;
  std::uint32_t state = seed * 2654435761u + 1;
  while (at < data.size()) {
    std::size_t chunk = 1;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      chunk = 1 + (state >> 16) % 64;
    } else {
      chunk = data.size();
    }
    if (chunk > data.size() - at) chunk = data.size() - at;
    std::size_t used = hs.feed(data.subspan(at, chunk));
    check(used <= chunk);
    auto out = hs.take_output();
    r.output.insert(r.output.end(), out.begin(), out.end());
    r.used += used;
    if (used < chunk) {
      // Only a decided handshake leaves bytes unconsumed.
      check(hs.status() != Handshake::Status::need_more);
      break;
    }
    at += chunk;
  }
  r.status = hs.status();
  check(r.output.size() <= kMaxOutput);
  check_decided(hs, data);
  switch (r.status) {
    case Handshake::Status::request_ready: {
      const auto& req = hs.request();
      check(req.command == Command::connect);
      check(req.port != 0);
      check(is_valid_host(req.host));
      check(host_charset_ok(req.host));
      check(!hs.isolation_key().empty());
      check(hs.error().empty());
      check(r.output.size() >= 2 && r.output[0] == kVersion);
      break;
    }
    case Handshake::Status::failed:
      check(!r.output.empty());
      check(!hs.error().empty());
      break;
    case Handshake::Status::need_more:
      check(r.used == data.size());
      break;
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView input = view(data + 1, size - 1);
  Result whole = run(input, 0);
  Result chunked = run(input, data[0] == 0 ? 1 : data[0]);
  check(whole.status == chunked.status);
  check(whole.output == chunked.output);
  check(whole.used == chunked.used);
  return 0;
}
