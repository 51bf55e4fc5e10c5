// GcsKvManager: the internal KV store (function exports, session metadata,
// anything small a driver or raylet wants every process to see). Keys live
// in namespaces; each namespace is its own StoreClient table
// ("KV:" + namespace), so a key or prefix never crosses a namespace
// boundary whatever bytes either contains. The empty namespace is valid.
//
// Ownership: does not own the StoreClient, which must outlive it.
// Thread model: thread-confined to the GCS thread (the StoreClient's).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class GcsKvManager {
 public:
  static constexpr absl::string_view kTablePrefix = "KV:";

  explicit GcsKvManager(StoreClient* store) : store_(store) {}

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view ns,
                                                 absl::string_view key);

  // Returns true if `key` was newly added. With overwrite=false an existing
  // value is kept; with overwrite=true it is replaced (and false returned).
  absl::StatusOr<bool> Put(absl::string_view ns, absl::string_view key,
                           absl::string_view value, bool overwrite);

  // Deletes `key`, or every key starting with it when `by_prefix` (an empty
  // prefix clears the namespace). Returns how many keys were deleted.
  absl::StatusOr<int64_t> Del(absl::string_view ns, absl::string_view key,
                              bool by_prefix);

  // Keys of `ns` starting with `prefix`, ascending.
  absl::StatusOr<std::vector<std::string>> Keys(absl::string_view ns,
                                                absl::string_view prefix);

  absl::StatusOr<bool> Exists(absl::string_view ns, absl::string_view key);

 private:
  static std::string Table(absl::string_view ns);

  StoreClient* store_;
};

}  // namespace comet::gcs
