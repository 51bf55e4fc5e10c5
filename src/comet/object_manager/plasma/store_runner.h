// PlasmaStoreRunner: a whole plasma store on a thread of its own.
//
// Owns the ObjectStore, the StoreServer and the IoThread they are confined
// to. The raylet embeds one; the standalone `plasma_store` binary runs one.
// Start/Stop are called from the owner's thread (not the store's).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/comet/common/io_thread.h"
#include "src/comet/object_manager/plasma/object_store.h"
#include "src/comet/object_manager/plasma/store_server.h"

namespace comet::plasma {

struct PlasmaStoreOptions {
  std::string socket_path;
  uint64_t capacity = 0;
  // Empty disables the file-backed fallback.
  std::string fallback_dir;
  int64_t fallback_timeout_ms = 2000;
  uint64_t max_message_bytes = 64ull << 20;
  // Spilling of primary copies (see object_store.h): the directory for spill
  // files, empty = off; the fraction of capacity above which unreferenced
  // primaries are spilled; the bytes per spill batch (one file).
  std::string spill_dir;
  double spill_threshold = 0.8;
  uint64_t min_spill_bytes = 100ull << 20;
};

class PlasmaStoreRunner {
 public:
  // Creates the arena, binds the socket and starts serving.
  static absl::StatusOr<std::unique_ptr<PlasmaStoreRunner>> Start(
      const PlasmaStoreOptions& options);
  ~PlasmaStoreRunner();

  // Closes every connection, stops the thread, frees the arena and deletes
  // the spill files.
  void Stop();

  // The store's counters, read on the store thread (including the spill
  // counters that the wire StatsReply does not carry). Only while running.
  StoreStats stats();

  const std::string& socket_path() const { return options_.socket_path; }
  uint64_t capacity() const { return store_->capacity(); }

 private:
  explicit PlasmaStoreRunner(const PlasmaStoreOptions& options) : options_(options) {}

  PlasmaStoreOptions options_;
  IoThread thread_{"plasma_store"};
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<StoreServer> server_;
};

}  // namespace comet::plasma
