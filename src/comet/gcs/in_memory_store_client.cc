#include "src/comet/gcs/in_memory_store_client.h"

#include "absl/strings/match.h"

namespace comet::gcs {

const InMemoryStoreClient::Table* InMemoryStoreClient::Find(
    absl::string_view table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : &it->second;
}

absl::StatusOr<bool> InMemoryStoreClient::Put(absl::string_view table,
                                              absl::string_view key,
                                              absl::string_view value,
                                              bool overwrite) {
  Table& rows = tables_[table];
  auto it = rows.find(key);
  if (it == rows.end()) {
    rows.emplace(std::string(key), std::string(value));
    return true;
  }
  if (overwrite) it->second.assign(value.data(), value.size());
  return false;
}

absl::StatusOr<std::optional<std::string>> InMemoryStoreClient::Get(
    absl::string_view table, absl::string_view key) {
  const Table* rows = Find(table);
  if (rows == nullptr) return std::nullopt;
  auto it = rows->find(key);
  if (it == rows->end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<bool> InMemoryStoreClient::Delete(absl::string_view table,
                                                 absl::string_view key) {
  auto table_it = tables_.find(table);
  if (table_it == tables_.end()) return false;
  Table& rows = table_it->second;
  auto it = rows.find(key);
  if (it == rows.end()) return false;
  rows.erase(it);
  if (rows.empty()) tables_.erase(table_it);
  return true;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
InMemoryStoreClient::GetAll(absl::string_view table) {
  std::vector<std::pair<std::string, std::string>> all;
  const Table* rows = Find(table);
  if (rows == nullptr) return all;
  all.assign(rows->begin(), rows->end());
  return all;
}

absl::StatusOr<std::vector<std::string>> InMemoryStoreClient::Keys(
    absl::string_view table, absl::string_view prefix) {
  std::vector<std::string> keys;
  const Table* rows = Find(table);
  if (rows == nullptr) return keys;
  for (auto it = rows->lower_bound(prefix);
       it != rows->end() && absl::StartsWith(it->first, prefix); ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

absl::StatusOr<bool> InMemoryStoreClient::Exists(absl::string_view table,
                                                 absl::string_view key) {
  const Table* rows = Find(table);
  return rows != nullptr && rows->find(key) != rows->end();
}

}  // namespace comet::gcs
