#include "src/comet/gcs/sqlite_store_client.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {
namespace {

// locking_mode=EXCLUSIVE: the first write takes the file's lock and keeps it
// until the process ends (a killed GCS's lock goes with it), so two GCSs
// never share one file.
constexpr const char* kSchema =
    "PRAGMA locking_mode=EXCLUSIVE;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS kv ("
    "  tbl TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL,"
    "  PRIMARY KEY (tbl, k)) WITHOUT ROWID;";

constexpr const char* kSql[] = {
    /*kInsert=*/"INSERT INTO kv (tbl, k, v) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    /*kUpdate=*/"UPDATE kv SET v = ?3 WHERE tbl = ?1 AND k = ?2",
    /*kGet=*/"SELECT v FROM kv WHERE tbl = ?1 AND k = ?2",
    /*kDelete=*/"DELETE FROM kv WHERE tbl = ?1 AND k = ?2",
    /*kGetAll=*/"SELECT k, v FROM kv WHERE tbl = ?1 ORDER BY k",
    /*kKeysFrom=*/"SELECT k FROM kv WHERE tbl = ?1 AND k >= ?2 ORDER BY k",
    /*kKeysRange=*/"SELECT k FROM kv WHERE tbl = ?1 AND k >= ?2 AND k < ?3 ORDER BY k",
};

// The smallest byte string above every string that starts with `prefix`, or
// nullopt when there is none ("" or all 0xff).
std::optional<std::string> PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

void BindText(sqlite3_stmt* stmt, int index, absl::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void BindBlob(sqlite3_stmt* stmt, int index, absl::string_view bytes) {
  // A zero-length blob must still be a blob (not NULL): point at "".
  sqlite3_bind_blob(stmt, index, bytes.empty() ? "" : bytes.data(),
                    static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

std::string Column(sqlite3_stmt* stmt, int index) {
  const void* data = sqlite3_column_blob(stmt, index);
  int size = sqlite3_column_bytes(stmt, index);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStoreClient>> SqliteStoreClient::Open(
    const std::string& path) {
  // Created private before SQLite opens it (the tables hold the KV store).
  mode_t old_mask = umask(077);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  umask(old_mask);
  std::unique_ptr<SqliteStoreClient> store(new SqliteStoreClient(db, path));
  if (rc != SQLITE_OK) return store->Error("cannot open");
  // A GCS that is still stopping may hold the write lock for a moment.
  sqlite3_busy_timeout(db, 2000);
  char* message = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message == nullptr ? "" : message;
    sqlite3_free(message);
    return absl::FailedPreconditionError(
        absl::StrCat("GCS storage ", path, ": cannot set up the tables: ", text,
                     " (is another gcs_server using this file?)"));
  }
  RETURN_IF_ERROR(store->Prepare());
  return store;
}

SqliteStoreClient::~SqliteStoreClient() {
  for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status SqliteStoreClient::Prepare() {
  for (int i = 0; i < kCount; ++i) {
    if (sqlite3_prepare_v3(db_, kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &statements_[i],
                           nullptr) != SQLITE_OK) {
      return Error("cannot prepare a statement");
    }
  }
  return absl::OkStatus();
}

sqlite3_stmt* SqliteStoreClient::Reset(Statement which) {
  sqlite3_stmt* stmt = statements_[which];
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return stmt;
}

absl::Status SqliteStoreClient::Error(absl::string_view what) const {
  return absl::UnavailableError(absl::StrCat("GCS storage ", path_, ": ", what, ": ",
                                             db_ == nullptr ? "out of memory" : sqlite3_errmsg(db_)));
}

absl::StatusOr<int> SqliteStoreClient::Execute(sqlite3_stmt* stmt, absl::string_view what) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return Error(what);
  return sqlite3_changes(db_);
}

absl::StatusOr<bool> SqliteStoreClient::Put(absl::string_view table, absl::string_view key,
                                            absl::string_view value, bool overwrite) {
  sqlite3_stmt* insert = Reset(kInsert);
  BindText(insert, 1, table);
  BindBlob(insert, 2, key);
  BindBlob(insert, 3, value);
  ASSIGN_OR_RETURN(int inserted, Execute(insert, "cannot write"));
  if (inserted > 0 || !overwrite) return inserted > 0;
  sqlite3_stmt* update = Reset(kUpdate);
  BindText(update, 1, table);
  BindBlob(update, 2, key);
  BindBlob(update, 3, value);
  RETURN_IF_ERROR(Execute(update, "cannot write").status());
  return false;
}

absl::StatusOr<std::optional<std::string>> SqliteStoreClient::Get(absl::string_view table,
                                                                  absl::string_view key) {
  sqlite3_stmt* stmt = Reset(kGet);
  BindText(stmt, 1, table);
  BindBlob(stmt, 2, key);
  int rc = sqlite3_step(stmt);
  std::optional<std::string> value;
  if (rc == SQLITE_ROW) value = Column(stmt, 0);
  sqlite3_reset(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("cannot read");
  return value;
}

absl::StatusOr<bool> SqliteStoreClient::Delete(absl::string_view table, absl::string_view key) {
  sqlite3_stmt* stmt = Reset(kDelete);
  BindText(stmt, 1, table);
  BindBlob(stmt, 2, key);
  ASSIGN_OR_RETURN(int deleted, Execute(stmt, "cannot delete"));
  return deleted > 0;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SqliteStoreClient::GetAll(
    absl::string_view table) {
  sqlite3_stmt* stmt = Reset(kGetAll);
  BindText(stmt, 1, table);
  std::vector<std::pair<std::string, std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) rows.emplace_back(Column(stmt, 0), Column(stmt, 1));
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return Error("cannot read");
  return rows;
}

absl::StatusOr<std::vector<std::string>> SqliteStoreClient::Keys(absl::string_view table,
                                                                 absl::string_view prefix) {
  std::optional<std::string> end = PrefixEnd(prefix);
  sqlite3_stmt* stmt = Reset(end ? kKeysRange : kKeysFrom);
  BindText(stmt, 1, table);
  BindBlob(stmt, 2, prefix);
  if (end) BindBlob(stmt, 3, *end);
  std::vector<std::string> keys;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) keys.push_back(Column(stmt, 0));
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE) return Error("cannot read");
  return keys;
}

absl::StatusOr<bool> SqliteStoreClient::Exists(absl::string_view table, absl::string_view key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, Get(table, key));
  return value.has_value();
}

absl::Status SqliteStoreClient::WriteBatch(
    absl::string_view table, const std::vector<std::pair<std::string, std::string>>& puts,
    const std::vector<std::string>& deletes) {
  if (puts.empty() && deletes.empty()) return absl::OkStatus();
  // One transaction: one commit for the whole batch instead of one per row.
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Error("cannot begin a batch");
  }
  absl::Status status = StoreClient::WriteBatch(table, puts, deletes);
  if (!status.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    absl::Status error = Error("cannot commit a batch");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }
  return absl::OkStatus();
}

}  // namespace comet::gcs
