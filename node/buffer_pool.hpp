// Relay buffers, lent only while bytes are in flight: an idle circuit holds
// none. Single-threaded (one per io_context thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tpdp {

class BufferPool {
 public:
  // 8 whole frames (128 KiB): socat-like batching (its 128 KiB buffers run
  // twice its 8 KiB ones here), and the exit reads 8 frames per system call.
  static constexpr std::size_t kBufferSize = 8 * 16403;

  explicit BufferPool(std::size_t keep_free = 64) : keep_free_(keep_free) {}

  class Lease {
   public:
    Lease() = default;
    Lease(BufferPool* pool, std::unique_ptr<std::uint8_t[]> buf)
        : pool_(pool), buf_(std::move(buf)) {}
    Lease(Lease&& o) noexcept = default;
    Lease& operator=(Lease&& o) noexcept {
      reset();
      pool_ = o.pool_;
      buf_ = std::move(o.buf_);
      return *this;
    }
    ~Lease() { reset(); }
    std::uint8_t* data() const { return buf_.get(); }
    explicit operator bool() const { return static_cast<bool>(buf_); }
    void reset() {
      if (buf_ && pool_) pool_->give_back(std::move(buf_));
      buf_.reset();
    }

   private:
    BufferPool* pool_ = nullptr;
    std::unique_ptr<std::uint8_t[]> buf_;
  };

  Lease acquire() {
    ++in_use_;
    if (!free_.empty()) {
      auto b = std::move(free_.back());
      free_.pop_back();
      return Lease(this, std::move(b));
    }
    return Lease(this, std::unique_ptr<std::uint8_t[]>(new std::uint8_t[kBufferSize]));
  }

  std::size_t in_use() const { return in_use_; }

 private:
  void give_back(std::unique_ptr<std::uint8_t[]> b) {
    --in_use_;
    if (free_.size() < keep_free_) free_.push_back(std::move(b));
  }

  std::size_t keep_free_;
  std::size_t in_use_ = 0;
  std::vector<std::unique_ptr<std::uint8_t[]>> free_;
};

}  // namespace tpdp
