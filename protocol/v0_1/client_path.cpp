#include "protocol/v0_1/client_path.hpp"

#include <stdexcept>

namespace tpdp::v0_1 {

void ClientPathBuilder::add_hop(ClientHop hop) {
  if (status() != Status::idle) throw std::logic_error("ClientPathBuilder::add_hop out of order");
  current_.emplace(std::move(hop));
  advance();
}

void ClientPathBuilder::set_destination(std::string_view host, std::uint16_t port) {
  if (status() != Status::awaiting_destination) {
    throw std::logic_error("ClientPathBuilder::set_destination out of order");
  }
  current_->set_destination(host, port);
  advance();
}

Bytes ClientPathBuilder::take_output() {
  if (!current_) return {};
  Bytes out = current_->take_output();
  // The last built hop's layer first: hop 1 removes its own first.
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) it->forward.apply(out);
  return out;
}

void ClientPathBuilder::feed(ByteView received) {
  std::size_t start = pending_.size();
  pending_.insert(pending_.end(), received.begin(), received.end());
  for (auto& hop : layers_) {
    hop.backward.apply(pending_.data() + start, pending_.size() - start);
  }
  advance();
}

void ClientPathBuilder::end_of_stream() {
  eof_ = true;
  advance();
}

void ClientPathBuilder::advance() {
  if (!current_) return;
  if (current_->waiting() && !pending_.empty()) {
    std::size_t used = current_->feed(pending_);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  }
  if (current_->step() == ClientHop::Step::done) {
    HopLayers layers = current_->take_layers();
    // What follows the ETB came through this hop: its layer is on it too.
    layers.backward.apply(pending_);
    layers_.push_back(std::move(layers));
    current_.reset();
    return;
  }
  if (eof_ && current_->waiting()) current_->end_of_stream();
}

ClientPathBuilder::Status ClientPathBuilder::status() const {
  if (!current_) return Status::idle;
  switch (current_->step()) {
    case ClientHop::Step::awaiting_destination:
      return Status::awaiting_destination;
    case ClientHop::Step::failed:
      return Status::failed;
    default:
      return Status::waiting;
  }
}

std::vector<HopLayers> ClientPathBuilder::take_layers() {
  if (current_) throw std::logic_error("ClientPathBuilder: a hop is still being built");
  return std::move(layers_);
}

Bytes ClientPathBuilder::take_received() {
  Bytes out;
  out.swap(pending_);
  return out;
}

}  // namespace tpdp::v0_1
