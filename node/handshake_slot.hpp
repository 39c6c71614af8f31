// Counts a source address's handshakes in flight (NodeConfig's
// max_handshakes_per_source) for as long as it lives or until released.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace tpdp {

class HandshakeSlot {
 public:
  HandshakeSlot(std::map<std::string, std::size_t>& counts, std::string key)
      : counts_(counts), key_(std::move(key)) {
    ++counts_[key_];
  }
  HandshakeSlot(const HandshakeSlot&) = delete;
  HandshakeSlot& operator=(const HandshakeSlot&) = delete;
  ~HandshakeSlot() { release(); }
  void release() {
    if (released_) return;
    released_ = true;
    auto it = counts_.find(key_);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

 private:
  std::map<std::string, std::size_t>& counts_;
  std::string key_;
  bool released_ = false;
};

}  // namespace tpdp
