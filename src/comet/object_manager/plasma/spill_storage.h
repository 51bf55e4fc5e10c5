// SpillStorage: the files that spilled plasma objects live in.
//
// Writes a batch of objects back to back into one new file
// `<dir>/spill-<pid>-<n>.bin` with plain pwrite (no fsync: spill files never
// outlive the store that wrote them), reads one object back with pread, and
// keeps a live count per file: a file is unlinked as soon as the last object
// in it is dropped. The destructor unlinks every file still on disk. No
// descriptor stays open between calls (a file is opened per batch and per
// read), so the number of spill files is not bounded by the fd limit.
//
// Owns only its files; the bytes to write and the buffers to read into belong
// to the caller. Thread-compatible: the plasma store confines it to the
// store's event-loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace comet::plasma {

// Where one spilled object's bytes are.
struct SpillLocation {
  int64_t file_id = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

class SpillStorage {
 public:
  // Uses `dir`, creating it (not its parents) when missing.
  static absl::StatusOr<std::unique_ptr<SpillStorage>> Create(const std::string& dir);
  ~SpillStorage();
  SpillStorage(const SpillStorage&) = delete;
  SpillStorage& operator=(const SpillStorage&) = delete;

  // Writes `chunks` back to back into one new file and returns where each one
  // went, in order; each counts as one live object of the file. On failure
  // nothing is left on disk. An empty batch writes no file.
  absl::StatusOr<std::vector<SpillLocation>> WriteBatch(
      const std::vector<absl::Span<const uint8_t>>& chunks);

  // Reads the object at `loc` into `dest` (loc.size bytes).
  absl::Status Read(const SpillLocation& loc, uint8_t* dest) const;

  // Forgets one object written by WriteBatch; unlinks its file when that was
  // the file's last live object.
  void Drop(const SpillLocation& loc);

  const std::string& dir() const { return dir_; }
  // Bytes of the spill files now on disk (dropped objects included until
  // their whole file goes).
  uint64_t bytes_on_disk() const { return bytes_on_disk_; }
  size_t num_files() const { return files_.size(); }

 private:
  struct File {
    std::string path;
    uint64_t size = 0;
    int64_t live_objects = 0;
  };

  explicit SpillStorage(std::string dir) : dir_(std::move(dir)) {}

  // Creates a new, empty spill file; returns its fd and fills `path`.
  absl::StatusOr<int> CreateFile(std::string* path);

  std::string dir_;
  int64_t next_file_id_ = 1;
  absl::flat_hash_map<int64_t, File> files_;
  uint64_t bytes_on_disk_ = 0;
};

}  // namespace comet::plasma
