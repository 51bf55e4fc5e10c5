// InMemoryStoreClient: the default GCS storage, tables as sorted maps in
// this process's memory. Nothing survives the process. Never fails.
//
// Thread model: thread-compatible, used only on the GCS thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

class InMemoryStoreClient : public StoreClient {
 public:
  InMemoryStoreClient() = default;

  absl::StatusOr<bool> Put(absl::string_view table, absl::string_view key,
                           absl::string_view value, bool overwrite) override;
  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view table, absl::string_view key) override;
  absl::StatusOr<bool> Delete(absl::string_view table,
                              absl::string_view key) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GetAll(
      absl::string_view table) override;
  absl::StatusOr<std::vector<std::string>> Keys(
      absl::string_view table, absl::string_view prefix) override;
  absl::StatusOr<bool> Exists(absl::string_view table,
                              absl::string_view key) override;

 private:
  // std::less<> lets string_view keys look up without a copy.
  using Table = std::map<std::string, std::string, std::less<>>;

  // The table, or nullptr when it was never written.
  const Table* Find(absl::string_view table) const;

  absl::flat_hash_map<std::string, Table> tables_;
};

}  // namespace comet::gcs
