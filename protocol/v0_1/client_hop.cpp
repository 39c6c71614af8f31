#include "protocol/v0_1/client_hop.hpp"

#include <algorithm>
#include <stdexcept>

#include "protocol/host.hpp"

namespace tpdp::v0_1 {

// The Hello is the first thing to send.
ClientHop::ClientHop(OnionKeypair ephemeral, CounterBlock counter)
    : ephemeral_(std::move(ephemeral)), counter_(counter), output_(kHello.begin(), kHello.end()) {}

ClientHop::ClientHop() : ClientHop(OnionKeypair::generate(), random_counter_block()) {}

Bytes ClientHop::take_output() {
  Bytes out;
  out.swap(output_);
  return out;
}

std::size_t ClientHop::feed(ByteView in) {
  std::size_t used = 0;
  while (waiting() && used < in.size()) {
    used += take_step_bytes(partial_, need_, in, used);
    if (partial_.size() == need_) complete_step();
  }
  return used;
}

void ClientHop::expect(Step next, std::size_t bytes) {
  step_ = next;
  need_ = bytes;
  partial_.clear();
}

void ClientHop::fail(std::string reason) {
  failed_step_ = step_;
  step_ = Step::failed;
  reason_ = std::move(reason);
  partial_.clear();
}

void ClientHop::complete_step() {
  Writer out(output_);
  switch (step_) {
    case Step::hello:
      if (!std::equal(partial_.begin(), partial_.end(), kHello.begin())) {
        return fail("answered something other than the TPDP/0.1 Hello");
      }
      out.bytes(ephemeral_.public_key.view());
      return expect(Step::node_key, kPublicKeySize);
    case Step::node_key: {
      OnionPublicKey node;
      std::copy(partial_.begin(), partial_.end(), node.bytes.begin());
      auto key = agree_key(ephemeral_, node);
      if (!key) return fail("sent an X25519 key that gives an all-zero shared secret");
      layers_.emplace(make_hop_layers(*key, counter_));
      out.bytes(counter_);
      return expect(Step::counter_ack, kAck.size());
    }
    case Step::counter_ack:
      if (!std::equal(partial_.begin(), partial_.end(), kAck.begin())) {
        return fail("answered the counter block with something other than ACK");
      }
      return expect(Step::awaiting_destination, 0);
    case Step::host_ack: {
      if (!std::equal(partial_.begin(), partial_.end(), kAck.begin())) {
        return fail("answered the host name with something other than ACK");
      }
      Bytes port;
      Writer(port).u16(port_);
      layers_->forward.apply(port);
      out.bytes(port);
      return expect(Step::etb, kEtb.size());
    }
    case Step::etb:
      if (!std::equal(partial_.begin(), partial_.end(), kEtb.begin())) {
        return fail("answered the port with something other than ETB");
      }
      return expect(Step::done, 0);
    default:
      throw std::logic_error("ClientHop: no reply is awaited");
  }
}

void ClientHop::set_destination(std::string_view host, std::uint16_t port) {
  if (step_ != Step::awaiting_destination) {
    throw std::logic_error("ClientHop::set_destination out of order");
  }
  if (!is_valid_host(host) || host.size() > kMaxHostLength) {
    throw std::invalid_argument("not a valid destination host: '" + std::string(host) + "'");
  }
  Writer out(output_);
  // L counts bytes; torpydo's client counts characters, the same for the
  // ASCII names that is_valid_host admits. L is not on this hop's stream.
  out.u16(static_cast<std::uint16_t>(host.size()));
  Bytes name(host.begin(), host.end());
  layers_->forward.apply(name);
  out.bytes(name);
  port_ = port;
  expect(Step::host_ack, kAck.size());
}

void ClientHop::end_of_stream() {
  if (step_ == Step::done || step_ == Step::failed) return;
  if (!partial_.empty()) {
    error_byte_ = partial_.back();
    std::string meaning = error_byte_meaning(*error_byte_);
    fail("sent error byte " + std::to_string(*error_byte_) + " (" + meaning + ")");
  } else {
    fail("closed the connection without an error byte");
  }
}

HopLayers ClientHop::take_layers() {
  if (step_ != Step::done || !layers_) throw std::logic_error("ClientHop: not done");
  HopLayers l = std::move(*layers_);
  layers_.reset();
  return l;
}

}  // namespace tpdp::v0_1
