// StoreClient: the GCS's storage seam. Every GCS table (nodes, jobs, internal
// KV namespaces, counters) is a named table of byte-string keys and values
// behind this interface; the managers never know which backend holds them.
// InMemoryStoreClient is the default; SqliteStoreClient and RedisStoreClient
// make the tables survive a GCS restart.
//
// Calls are synchronous and return absl::Status so that a networked backend
// can report failures; the in-memory one never fails.
// Thread model: implementations are thread-confined to the GCS thread (the
// io_context every manager is confined to); callers must not share one
// between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace comet::gcs {

// A key that GetAll and Keys return in numeric order: `number` as 16 hex
// digits (tables whose rows are kept in arrival order: task rows, deaths).
inline std::string NumberKey(uint64_t number) { return absl::StrFormat("%016x", number); }

// The number of a NumberKey; nullopt for a key that is not one.
inline std::optional<uint64_t> ParseNumberKey(absl::string_view key) {
  uint64_t number = 0;
  if (!absl::SimpleHexAtoi(key, &number)) return std::nullopt;
  return number;
}

class StoreClient {
 public:
  virtual ~StoreClient() = default;

  // Stores `value` under `key`. Returns true if the key was newly added.
  // An existing key keeps its value when `overwrite` is false and gets the
  // new one when it is true; both return false.
  virtual absl::StatusOr<bool> Put(absl::string_view table,
                                   absl::string_view key,
                                   absl::string_view value, bool overwrite) = 0;

  // The value under `key`, or nullopt when absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view table, absl::string_view key) = 0;

  // Removes `key`. Returns true if it existed.
  virtual absl::StatusOr<bool> Delete(absl::string_view table,
                                      absl::string_view key) = 0;

  // Every (key, value) of `table`, in ascending key order.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  GetAll(absl::string_view table) = 0;

  // Keys of `table` that start with `prefix` (all keys for ""), ascending.
  virtual absl::StatusOr<std::vector<std::string>> Keys(
      absl::string_view table, absl::string_view prefix) = 0;

  // Whether `key` is present.
  virtual absl::StatusOr<bool> Exists(absl::string_view table,
                                      absl::string_view key) = 0;

  // Writes every (key, value) of `puts` (overwriting) and then removes
  // every key of `deletes`, as one step where the backend has one (one
  // transaction, one command); for bulk write-behind such as task rows.
  // This default makes one call per key.
  virtual absl::Status WriteBatch(
      absl::string_view table,
      const std::vector<std::pair<std::string, std::string>>& puts,
      const std::vector<std::string>& deletes) {
    for (const auto& [key, value] : puts) {
      absl::StatusOr<bool> put = Put(table, key, value, /*overwrite=*/true);
      if (!put.ok()) return put.status();
    }
    for (const std::string& key : deletes) {
      absl::StatusOr<bool> deleted = Delete(table, key);
      if (!deleted.ok()) return deleted.status();
    }
    return absl::OkStatus();
  }
};

}  // namespace comet::gcs
