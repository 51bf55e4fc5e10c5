#include "src/comet/gcs/gcs_kv_manager.h"

#include "absl/strings/str_cat.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {

std::string GcsKvManager::Table(absl::string_view ns) {
  return absl::StrCat(kTablePrefix, ns);
}

absl::StatusOr<std::optional<std::string>> GcsKvManager::Get(
    absl::string_view ns, absl::string_view key) {
  return store_->Get(Table(ns), key);
}

absl::StatusOr<bool> GcsKvManager::Put(absl::string_view ns,
                                       absl::string_view key,
                                       absl::string_view value,
                                       bool overwrite) {
  return store_->Put(Table(ns), key, value, overwrite);
}

absl::StatusOr<int64_t> GcsKvManager::Del(absl::string_view ns,
                                          absl::string_view key,
                                          bool by_prefix) {
  std::string table = Table(ns);
  if (!by_prefix) {
    ASSIGN_OR_RETURN(bool deleted, store_->Delete(table, key));
    return deleted ? 1 : 0;
  }
  ASSIGN_OR_RETURN(std::vector<std::string> keys, store_->Keys(table, key));
  int64_t deleted = 0;
  for (const std::string& k : keys) {
    ASSIGN_OR_RETURN(bool existed, store_->Delete(table, k));
    if (existed) ++deleted;
  }
  return deleted;
}

absl::StatusOr<std::vector<std::string>> GcsKvManager::Keys(
    absl::string_view ns, absl::string_view prefix) {
  return store_->Keys(Table(ns), prefix);
}

absl::StatusOr<bool> GcsKvManager::Exists(absl::string_view ns,
                                          absl::string_view key) {
  return store_->Exists(Table(ns), key);
}

}  // namespace comet::gcs
