#include "src/comet/object_manager/plasma/memory_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace comet::plasma {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOSPC || err == ENOMEM) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemoryMapping>> MemoryMapping::Map(int fd, uint64_t size,
                                                                  bool writable) {
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* data = mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    int err = errno;
    close(fd);
    return ErrnoStatus(absl::StrCat("mmap of ", size, " bytes"), err);
  }
  return std::unique_ptr<MemoryMapping>(
      new MemoryMapping(fd, static_cast<uint8_t*>(data), size));
}

absl::StatusOr<std::unique_ptr<MemoryMapping>> MemoryMapping::CreateArena(
    absl::string_view name, uint64_t size) {
  if (size == 0) return absl::InvalidArgumentError("arena size must be positive");
  int fd = memfd_create(std::string(name).c_str(), MFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("memfd_create", errno);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    close(fd);
    return ErrnoStatus(absl::StrCat("ftruncate of the arena to ", size, " bytes"), err);
  }
  return Map(fd, size, /*writable=*/true);
}

absl::StatusOr<std::unique_ptr<MemoryMapping>> MemoryMapping::CreateFileBacked(
    absl::string_view dir, uint64_t size) {
  if (size == 0) return absl::InvalidArgumentError("mapping size must be positive");
  std::string path = absl::StrCat(dir, "/plasma-fallback-XXXXXX");
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("creating a fallback file in ", dir), errno);
  unlink(path.c_str());
  int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err != 0) {
    close(fd);
    return ErrnoStatus(absl::StrCat("reserving ", size, " bytes of disk in ", dir), err);
  }
  return Map(fd, size, /*writable=*/true);
}

absl::StatusOr<std::unique_ptr<MemoryMapping>> MemoryMapping::FromFd(int fd, uint64_t size,
                                                                    bool writable) {
  if (fd < 0) return absl::InvalidArgumentError("invalid file descriptor");
  if (size == 0) {
    close(fd);
    return absl::InvalidArgumentError("mapping size must be positive");
  }
  return Map(fd, size, writable);
}

MemoryMapping::~MemoryMapping() {
  munmap(data_, size_);
  close(fd_);
}

}  // namespace comet::plasma
