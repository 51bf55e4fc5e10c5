// MemoryMapping: one shared mapping of a file descriptor (RAII).
//
// Owns the fd and the mmap'd range: the destructor unmaps and closes. Three
// ways to make one: an anonymous shared-memory arena (memfd), a file-backed
// fallback mapping in a directory (the file is unlinked at once so nothing is
// left behind even after a crash), or mapping an fd received from the store.
// Immutable after construction; safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace comet::plasma {

class MemoryMapping {
 public:
  // An anonymous shared-memory arena of `size` bytes (memfd, sealed size).
  static absl::StatusOr<std::unique_ptr<MemoryMapping>> CreateArena(
      absl::string_view name, uint64_t size);

  // A mapping backed by a new, already-unlinked file under `dir`, with its
  // disk blocks reserved up front so that writes cannot fault later.
  static absl::StatusOr<std::unique_ptr<MemoryMapping>> CreateFileBacked(
      absl::string_view dir, uint64_t size);

  // Maps `fd` (taking ownership of it) for reading, or reading and writing.
  static absl::StatusOr<std::unique_ptr<MemoryMapping>> FromFd(int fd, uint64_t size,
                                                              bool writable);

  ~MemoryMapping();
  MemoryMapping(const MemoryMapping&) = delete;
  MemoryMapping& operator=(const MemoryMapping&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  uint8_t* data() const { return data_; }

 private:
  MemoryMapping(int fd, uint8_t* data, uint64_t size) : fd_(fd), size_(size), data_(data) {}
  static absl::StatusOr<std::unique_ptr<MemoryMapping>> Map(int fd, uint64_t size,
                                                           bool writable);

  int fd_;
  uint64_t size_;
  uint8_t* data_;
};

}  // namespace comet::plasma
