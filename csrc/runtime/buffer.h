// Buffer: one block of memory that frees itself, whoever made it (aligned host memory, cudaMalloc,
// page-locked host memory): move-only, empty when it holds nullptr.
#pragma once

#include <cstddef>
#include <utility>

namespace fusednet {

class Buffer {
 public:
  using Free = void (*)(void*) noexcept;
  Buffer() = default;
  Buffer(void* ptr, std::size_t bytes, Free free) : ptr_(ptr), bytes_(bytes), free_(free) {}
  ~Buffer() { release(); }
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Buffer(std::move(o)).swap(*this);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void release() noexcept {
    if (ptr_) free_(ptr_);
    ptr_ = nullptr;
  }
  void swap(Buffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    std::swap(free_, o.free_);
  }
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  Free free_ = nullptr;
};

}  // namespace fusednet
