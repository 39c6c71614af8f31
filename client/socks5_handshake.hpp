// The server side of a SOCKS5 handshake (RFC 1928, with RFC 1929
// username/password), as a state machine fed with bytes: no sockets, no
// clock, so it can be unit tested and fuzzed. The caller writes what
// take_output() returns to the client after each feed().
//
//   Handshake hs;
//   std::size_t used = hs.feed(bytes);   // stops right after the request
//   send(hs.take_output());
//   if (hs.status() == Handshake::Status::request_ready) ... bytes[used..] belong to the stream
//   if (hs.status() == Handshake::Status::failed) ... send the output, then close
//
// Choices (RFC 1928 leaves them open):
// - Methods: username/password (0x02) is preferred over no-auth (0x00) when
//   a client offers both, because the credentials are the isolation key; any
//   credentials are accepted. No acceptable method, or a greeting whose
//   version is not 5, gets the method reply {5, 0xFF}, then the connection closes.
// - RFC 1929 allows lengths 1-255; empty user names and passwords are
//   accepted too (they are only an isolation key). A sub-negotiation whose
//   version is not 1 gets {1, 1} (failure), then the connection closes.
// - Requests: CONNECT only; BIND and UDP ASSOCIATE (and unknown commands)
//   get reply 0x07 once the whole request has arrived. An unknown address
//   type gets 0x08 at once (its length cannot be known). A domain name
//   (ATYP 3) that is not a valid host name (empty, a NUL or any byte other
//   than letters, digits, '-', '_' and dots, labels over 63 bytes) gets
//   0x01: the type is supported, the name is malformed. "[v6]" is accepted
//   as the IPv6 literal v6. Port 0 gets 0x01. A request version other than
//   5 gets 0x01. The reserved byte is ignored.
// - Domain names are passed on as text, never resolved here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"

namespace tpdp::socks5 {

inline constexpr std::uint8_t kVersion = 5;
inline constexpr std::uint8_t kAuthVersion = 1;  // RFC 1929 sub-negotiation

enum class Method : std::uint8_t { no_auth = 0x00, user_pass = 0x02, none_acceptable = 0xFF };
enum class Command : std::uint8_t { connect = 1, bind = 2, udp_associate = 3 };
enum class AddressType : std::uint8_t { ipv4 = 1, domain = 3, ipv6 = 4 };

enum class Reply : std::uint8_t {
  succeeded = 0x00,
  general_failure = 0x01,
  not_allowed = 0x02,  // connection not allowed by ruleset
  network_unreachable = 0x03,
  host_unreachable = 0x04,
  connection_refused = 0x05,
  ttl_expired = 0x06,
  command_not_supported = 0x07,
  address_type_not_supported = 0x08,
};

// Short English text of a reply code, for logs.
const char* reply_text(Reply r);

// The request the client made: host is an IPv4 literal, an IPv6 literal
// (no brackets) or a host name as the client sent it.
struct Request {
  Command command = Command::connect;
  AddressType address_type = AddressType::ipv4;
  std::string host;
  std::uint16_t port = 0;
};

class Handshake {
 public:
  enum class Status { need_more, request_ready, failed };

  // Consumes bytes up to the end of the request (or the failure) and returns
  // how many it used; bytes past that are the stream's. Feeding after the
  // request or a failure consumes nothing.
  std::size_t feed(ByteView data);

  Status status() const { return status_; }
  // Replies produced so far and not yet taken (method choice, auth status,
  // and on failure the final reply). At most a few dozen bytes.
  Bytes take_output();

  // Valid once status() is request_ready.
  const Request& request() const { return request_; }
  Method method() const { return method_; }
  // What separates clients from one another: the method, and with
  // username/password the exact user name and password (length-prefixed, so
  // ("ab","c") and ("a","bc") differ). Holds the password: never log it.
  const std::string& isolation_key() const { return isolation_key_; }
  // Why the handshake failed, for logs (no credentials, no destination).
  const std::string& error() const { return error_; }

 private:
  enum class Phase { greeting, auth, request, done };

  std::size_t needed() const;  // bytes the current message needs, given buf_
  void on_message();           // buf_ holds a whole message of the current phase
  void on_greeting();
  void on_auth();
  void on_request();
  void fail(const std::string& why, Bytes reply);
  void fail_request(const std::string& why, Reply code);

  Phase phase_ = Phase::greeting;
  Status status_ = Status::need_more;
  Bytes buf_;  // the current message so far (at most 513 bytes)
  Bytes out_;
  Method method_ = Method::none_acceptable;
  Request request_;
  std::string isolation_key_;
  std::string error_;
};

// A reply to a request: VER, code, RSV, and BND.ADDR/BND.PORT 0.0.0.0:0
// (the exit's address is not known here, and clients of CONNECT ignore it).
Bytes make_reply(Reply code);

// The reply for a failure to open the stream at the exit:
// exit_policy_refused 0x02, resolve_failed and connect_failed 0x04 (host
// unreachable; TPDP does not tell an unreachable network apart, so 0x03 is
// not used), connection_refused 0x05, timeout 0x06, anything else 0x01.
Reply reply_for(Errc code);

}  // namespace tpdp::socks5
