#include "client/socks5_handshake.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "protocol/host.hpp"

namespace tpdp::socks5 {

const char* reply_text(Reply r) {
  switch (r) {
    case Reply::succeeded:
      return "succeeded";
    case Reply::general_failure:
      return "general failure";
    case Reply::not_allowed:
      return "connection not allowed by ruleset";
    case Reply::network_unreachable:
      return "network unreachable";
    case Reply::host_unreachable:
      return "host unreachable";
    case Reply::connection_refused:
      return "connection refused";
    case Reply::ttl_expired:
      return "TTL expired";
    case Reply::command_not_supported:
      return "command not supported";
    case Reply::address_type_not_supported:
      return "address type not supported";
  }
  return "unknown reply";
}

Bytes make_reply(Reply code) {
  return {kVersion, static_cast<std::uint8_t>(code),
          0x00,     static_cast<std::uint8_t>(AddressType::ipv4),
          0,        0,
          0,        0,
          0,        0};
}

Reply reply_for(Errc code) {
  switch (code) {
    case Errc::exit_policy_refused:
      return Reply::not_allowed;
    case Errc::resolve_failed:
    case Errc::connect_failed:
      return Reply::host_unreachable;
    case Errc::connection_refused:
      return Reply::connection_refused;
    case Errc::timeout:
      return Reply::ttl_expired;
    default:
      return Reply::general_failure;
  }
}

Bytes Handshake::take_output() {
  Bytes out;
  out.swap(out_);
  return out;
}

// Header bytes are taken one at a time, so a wrong version or address type
// is rejected at that byte however the input is split.
std::size_t Handshake::needed() const {
  const std::size_t have = buf_.size();
  switch (phase_) {
    case Phase::greeting:  // VER NMETHODS METHODS...
      if (have < 2) return have + 1;
      return 2 + std::size_t{buf_[1]};
    case Phase::auth: {  // VER ULEN UNAME PLEN PASSWD
      if (have < 2) return have + 1;
      std::size_t ulen = buf_[1];
      if (have < 3 + ulen) return 3 + ulen;
      return 3 + ulen + buf_[2 + ulen];
    }
    case Phase::request:  // VER CMD RSV ATYP ADDR PORT
      if (have < 5) return have + 1;
      switch (static_cast<AddressType>(buf_[3])) {
        case AddressType::ipv4:
          return 4 + 4 + 2;
        case AddressType::ipv6:
          return 4 + 16 + 2;
        case AddressType::domain:
          return 4 + 1 + std::size_t{buf_[4]} + 2;
      }
      return have;  // unknown type: rejected by the header check
    case Phase::done:
      return 0;
  }
  return 0;
}

std::size_t Handshake::feed(ByteView data) {
  std::size_t used = 0;
  while (status_ == Status::need_more && used < data.size()) {
    std::size_t want = needed() - buf_.size();
    std::size_t take = std::min(want, data.size() - used);
    if (take == 0) break;  // not reached: every phase needs a byte more than it has
    buf_.insert(buf_.end(), data.begin() + static_cast<std::ptrdiff_t>(used),
                data.begin() + static_cast<std::ptrdiff_t>(used + take));
    used += take;
    // Reject a wrong version or address type as soon as its byte is here:
    // the lengths that follow would be meaningless, and waiting for them
    // would only hold the connection until the deadline.
    if (phase_ == Phase::greeting && buf_[0] != kVersion) {
      fail("not a SOCKS5 greeting (version byte " + std::to_string(buf_[0]) + ")",
           {kVersion, static_cast<std::uint8_t>(Method::none_acceptable)});
      break;
    }
    if (phase_ == Phase::auth && buf_[0] != kAuthVersion) {
      fail("bad username/password sub-negotiation version " + std::to_string(buf_[0]),
           {kAuthVersion, 0x01});
      break;
    }
    if (phase_ == Phase::request) {
      if (buf_[0] != kVersion) {
        fail_request("bad request version " + std::to_string(buf_[0]), Reply::general_failure);
        break;
      }
      if (buf_.size() >= 4) {
        auto t = static_cast<AddressType>(buf_[3]);
        if (t != AddressType::ipv4 && t != AddressType::ipv6 && t != AddressType::domain) {
          fail_request("unknown address type " + std::to_string(buf_[3]),
                       Reply::address_type_not_supported);
          break;
        }
      }
    }
    if (buf_.size() == needed()) on_message();
  }
  return used;
}

void Handshake::on_message() {
  switch (phase_) {
    case Phase::greeting:
      on_greeting();
      break;
    case Phase::auth:
      on_auth();
      break;
    case Phase::request:
      on_request();
      break;
    case Phase::done:
      break;
  }
}

void Handshake::on_greeting() {
  auto offered = [&](Method m) {
    return std::find(buf_.begin() + 2, buf_.end(), static_cast<std::uint8_t>(m)) != buf_.end();
  };
  // Username/password first: the credentials are the isolation key.
  if (offered(Method::user_pass)) {
    method_ = Method::user_pass;
  } else if (offered(Method::no_auth)) {
    method_ = Method::no_auth;
  } else {
    fail("no acceptable authentication method offered (want 0x00 or 0x02)",
         {kVersion, static_cast<std::uint8_t>(Method::none_acceptable)});
    return;
  }
  out_.push_back(kVersion);
  out_.push_back(static_cast<std::uint8_t>(method_));
  buf_.clear();
  if (method_ == Method::user_pass) {
    phase_ = Phase::auth;
  } else {
    isolation_key_.assign(1, static_cast<char>(Method::no_auth));
    phase_ = Phase::request;
  }
}

void Handshake::on_auth() {
  std::size_t ulen = buf_[1];
  std::size_t plen = buf_[2 + ulen];
  const char* p = reinterpret_cast<const char*>(buf_.data());
  isolation_key_.clear();
  isolation_key_.push_back(static_cast<char>(Method::user_pass));
  isolation_key_.push_back(static_cast<char>(ulen));
  isolation_key_.append(p + 2, ulen);
  isolation_key_.push_back(static_cast<char>(plen));
  isolation_key_.append(p + 3 + ulen, plen);
  // Wipe the password from the message buffer before reusing it.
  std::fill(buf_.begin(), buf_.end(), 0);
  buf_.clear();
  out_.push_back(kAuthVersion);
  out_.push_back(0x00);  // success: any credentials are accepted
  phase_ = Phase::request;
}

void Handshake::on_request() {
  auto cmd = static_cast<Command>(buf_[1]);
  auto type = static_cast<AddressType>(buf_[3]);
  std::size_t port_at = buf_.size() - 2;
  std::uint16_t port = static_cast<std::uint16_t>((buf_[port_at] << 8) | buf_[port_at + 1]);
  if (cmd != Command::connect) {
    fail_request(cmd == Command::bind            ? "BIND is not supported"
                 : cmd == Command::udp_associate ? "UDP ASSOCIATE is not supported"
                                                 : "unknown command " + std::to_string(buf_[1]),
                 Reply::command_not_supported);
    return;
  }
  std::string host;
  if (type == AddressType::ipv4 || type == AddressType::ipv6) {
    char text[INET6_ADDRSTRLEN] = {};
    int family = type == AddressType::ipv4 ? AF_INET : AF_INET6;
    if (!inet_ntop(family, buf_.data() + 4, text, sizeof text)) {
      fail_request("unprintable address", Reply::general_failure);
      return;
    }
    host = text;
  } else {
    host.assign(reinterpret_cast<const char*>(buf_.data()) + 5, buf_[4]);
    // Some clients bracket IPv6 literals given as names.
    if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
        is_ipv6_literal(std::string_view(host).substr(1, host.size() - 2))) {
      host = host.substr(1, host.size() - 2);
    }
    if (!is_valid_host(host)) {
      fail_request("malformed host name", Reply::general_failure);
      return;
    }
  }
  if (port == 0) {
    fail_request("port 0", Reply::general_failure);
    return;
  }
  request_ = Request{cmd, type, std::move(host), port};
  buf_.clear();
  phase_ = Phase::done;
  status_ = Status::request_ready;
}

void Handshake::fail(const std::string& why, Bytes reply) {
  error_ = why;
  out_.insert(out_.end(), reply.begin(), reply.end());
  std::fill(buf_.begin(), buf_.end(), 0);
  buf_.clear();
  phase_ = Phase::done;
  status_ = Status::failed;
}

void Handshake::fail_request(const std::string& why, Reply code) {
  fail(why, make_reply(code));
}

}  // namespace tpdp::socks5
