#include "src/comet/object_manager/plasma/spill_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace comet::plasma {
namespace {

// Attempts at a fresh file name before giving up (another store may share
// the directory and hold some names).
constexpr int kMaxNameAttempts = 1000;

absl::Status ErrnoStatus(absl::string_view what, int err) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

absl::Status PwriteAll(int fd, const uint8_t* data, uint64_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("writing a spill file", n < 0 ? errno : EIO);
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status PreadAll(int fd, uint8_t* data, uint64_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("reading a spill file", errno);
    if (n == 0) return absl::DataLossError("spill file is shorter than the objects in it");
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SpillStorage>> SpillStorage::Create(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("spill directory must not be empty");
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("creating spill directory ", dir), errno);
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("spill path ", dir, " is not a directory"));
  }
  return std::unique_ptr<SpillStorage>(new SpillStorage(dir));
}

SpillStorage::~SpillStorage() {
  for (const auto& [id, file] : files_) unlink(file.path.c_str());
}

absl::StatusOr<int> SpillStorage::CreateFile(std::string* path) {
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    *path = absl::StrCat(dir_, "/spill-", getpid(), "-", next_file_id_, ".bin");
    int fd = open(path->c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return ErrnoStatus(absl::StrCat("creating spill file ", *path), errno);
    next_file_id_++;
  }
  return absl::InternalError(absl::StrCat("no free spill file name in ", dir_));
}

absl::StatusOr<std::vector<SpillLocation>> SpillStorage::WriteBatch(
    const std::vector<absl::Span<const uint8_t>>& chunks) {
  std::vector<SpillLocation> locations;
  if (chunks.empty()) return locations;
  std::string path;
  absl::StatusOr<int> fd = CreateFile(&path);
  if (!fd.ok()) return fd.status();
  int64_t file_id = next_file_id_++;
  absl::Cleanup close_fd = [fd = *fd] { close(fd); };
  absl::Cleanup remove_file = [&path] { unlink(path.c_str()); };
  uint64_t offset = 0;
  for (absl::Span<const uint8_t> chunk : chunks) {
    absl::Status status = PwriteAll(*fd, chunk.data(), chunk.size(), offset);
    if (!status.ok()) return status;
    locations.push_back({file_id, offset, chunk.size()});
    offset += chunk.size();
  }
  std::move(remove_file).Cancel();
  files_[file_id] = File{path, offset, static_cast<int64_t>(chunks.size())};
  bytes_on_disk_ += offset;
  return locations;
}

absl::Status SpillStorage::Read(const SpillLocation& loc, uint8_t* dest) const {
  auto it = files_.find(loc.file_id);
  if (it == files_.end()) {
    return absl::InternalError(absl::StrCat("spill file ", loc.file_id, " is gone"));
  }
  int fd = open(it->second.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("opening spill file ", it->second.path), errno);
  absl::Status status = PreadAll(fd, dest, loc.size, loc.offset);
  close(fd);
  return status;
}

void SpillStorage::Drop(const SpillLocation& loc) {
  auto it = files_.find(loc.file_id);
  if (it == files_.end()) return;
  if (--it->second.live_objects > 0) return;
  unlink(it->second.path.c_str());
  bytes_on_disk_ -= it->second.size;
  files_.erase(it);
}

}  // namespace comet::plasma
