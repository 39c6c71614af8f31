#include "protocol/v0_1/node_handshake.hpp"

#include <algorithm>
#include <stdexcept>

namespace tpdp::v0_1 {

NodeHandshake::NodeHandshake(OnionKeypair ephemeral) : ephemeral_(std::move(ephemeral)) {}

std::size_t NodeHandshake::feed(ByteView in) {
  std::size_t used = 0;
  while (reading() && used < in.size()) {
    used += take_step_bytes(partial_, need_, in, used);
    if (partial_.size() == need_) complete_step();
  }
  return used;
}

Bytes NodeHandshake::take_output() {
  Bytes out;
  out.swap(output_);
  return out;
}

void NodeHandshake::expect(Step next, std::size_t bytes) {
  step_ = next;
  need_ = bytes;
  partial_.clear();
}

void NodeHandshake::complete_step() {
  Writer out(output_);
  switch (step_) {
    case Step::hello:
      // Like torpydo: all 16 bytes are read, then compared.
      if (!std::equal(partial_.begin(), partial_.end(), kHello.begin())) {
        return fail(ErrorByte::protocol_error, "wrong Hello (not a TPDP/0.1 client)");
      }
      out.text(kHello);
      return expect(Step::client_key, kPublicKeySize);
    case Step::client_key: {
      OnionPublicKey client;
      std::copy(partial_.begin(), partial_.end(), client.bytes.begin());
      key_ = agree_key(ephemeral_, client);
      if (!key_) {
        return fail(ErrorByte::protocol_error,
                    "the client's X25519 key gives an all-zero shared secret");
      }
      out.bytes(ephemeral_.public_key.view());
      return expect(Step::counter, kCounterBlockSize);
    }
    case Step::counter: {
      CounterBlock counter;
      std::copy(partial_.begin(), partial_.end(), counter.begin());
      layers_.emplace(make_hop_layers(*key_, counter));
      key_.reset();
      out.bytes(kAck);
      return expect(Step::host_length, kHostLengthSize);
    }
    case Step::host_length: {
      std::size_t length = (std::size_t{partial_[0]} << 8) | partial_[1];
      if (length == 0) return fail(ErrorByte::protocol_error, "zero-length host name");
      if (length > kMaxHostLength) {
        return fail(ErrorByte::protocol_error, "host name of " + std::to_string(length) +
                                                   " bytes (at most " +
                                                   std::to_string(kMaxHostLength) + ")");
      }
      return expect(Step::host, length);
    }
    case Step::host: {
      layers_->forward.apply(partial_);
      std::string host(partial_.begin(), partial_.end());
      // ASCII names and address literals only: never a NUL, never bytes that
      // are not UTF-8 (torpydo's node crashes on those and hangs).
      if (!is_valid_host(host)) {
        return fail(ErrorByte::protocol_error, "the destination is not a valid host name");
      }
      destination_.host = std::move(host);
      out.bytes(kAck);
      return expect(Step::port, kPortSize);
    }
    case Step::port:
      layers_->forward.apply(partial_);
      destination_.port = static_cast<std::uint16_t>((partial_[0] << 8) | partial_[1]);
      return expect(Step::connecting, 0);
    default:
      throw std::logic_error("NodeHandshake: no read step in progress");
  }
}

void NodeHandshake::connected() {
  if (step_ != Step::connecting) throw std::logic_error("NodeHandshake::connected out of order");
  Writer(output_).bytes(kEtb);
  step_ = Step::done;
}

void NodeHandshake::fail(ErrorByte code, std::string reason) {
  if (step_ == Step::done || step_ == Step::failed) return;
  output_.push_back(static_cast<std::uint8_t>(code));
  failure_ = code;
  reason_ = std::move(reason);
  step_ = Step::failed;
  partial_.clear();
  key_.reset();
}

HopLayers NodeHandshake::take_layers() {
  if (step_ != Step::done || !layers_) throw std::logic_error("NodeHandshake: not done");
  HopLayers l = std::move(*layers_);
  layers_.reset();
  return l;
}

}  // namespace tpdp::v0_1
