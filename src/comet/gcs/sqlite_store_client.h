// SqliteStoreClient: GCS tables in one SQLite database file, so that a GCS
// started again on the same file finds every table as it was. The head's
// default (docs/fault-tolerance.md says why SQLite).
//
// One SQL table holds every GCS table: (tbl, k, v), keyed by (tbl, k), keys
// and values as BLOBs so that binary ids round-trip and order bytewise, as
// the in-memory store does. The file runs in WAL mode with synchronous=NORMAL:
// every Put/Delete is its own committed transaction and survives a crash of
// the GCS process (kill -9); a power cut may lose the last few commits.
//
// Ownership: owns the connection and its prepared statements.
// Thread model: thread-compatible, used only on the GCS thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/comet/gcs/store_client.h"

struct sqlite3;
struct sqlite3_stmt;

namespace comet::gcs {

class SqliteStoreClient : public StoreClient {
 public:
  // Opens (creating when absent) the database at `path`; its folder must
  // exist. The file is created with mode 0600. Fails with the path and
  // SQLite's message, e.g. when another GCS holds the file.
  static absl::StatusOr<std::unique_ptr<SqliteStoreClient>> Open(const std::string& path);
  ~SqliteStoreClient() override;

  SqliteStoreClient(const SqliteStoreClient&) = delete;
  SqliteStoreClient& operator=(const SqliteStoreClient&) = delete;

  absl::StatusOr<bool> Put(absl::string_view table, absl::string_view key,
                           absl::string_view value, bool overwrite) override;
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view table,
                                                 absl::string_view key) override;
  absl::StatusOr<bool> Delete(absl::string_view table, absl::string_view key) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GetAll(
      absl::string_view table) override;
  absl::StatusOr<std::vector<std::string>> Keys(absl::string_view table,
                                                absl::string_view prefix) override;
  absl::StatusOr<bool> Exists(absl::string_view table, absl::string_view key) override;
  absl::Status WriteBatch(absl::string_view table,
                          const std::vector<std::pair<std::string, std::string>>& puts,
                          const std::vector<std::string>& deletes) override;

 private:
  // Prepared statements, one per kind of call.
  enum Statement { kInsert, kUpdate, kGet, kDelete, kGetAll, kKeysFrom, kKeysRange, kCount };

  SqliteStoreClient(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status Prepare();
  // The statement, reset and with its bindings cleared.
  sqlite3_stmt* Reset(Statement which);
  // An error naming the database file, the operation and SQLite's message.
  absl::Status Error(absl::string_view what) const;
  // Runs a statement that returns no rows; the number of rows it changed.
  absl::StatusOr<int> Execute(sqlite3_stmt* stmt, absl::string_view what);

  sqlite3* db_;
  const std::string path_;
  sqlite3_stmt* statements_[kCount] = {};
};

}  // namespace comet::gcs
