// RedisStoreClient: GCS tables in a Redis server, for a head whose GCS must
// come back on another machine (`comet start --head --gcs-storage=redis://H:P`).
//
// Each GCS table is one Redis hash named "<prefix><table>"; its fields are
// the keys. Calls are synchronous (hiredis); a dropped connection is opened
// again once per call before the call fails with UNAVAILABLE. Redis's own
// persistence (RDB/AOF) decides what survives a restart of Redis itself.
//
// Ownership: owns the connection.
// Thread model: thread-compatible, used only on the GCS thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/comet/gcs/store_client.h"

struct redisContext;
struct redisReply;

namespace comet::gcs {

class RedisStoreClient : public StoreClient {
 public:
  // Connects to `host`:`port` (and AUTH with `password` when not empty),
  // keeping every table under keys that start with `prefix`.
  static absl::StatusOr<std::unique_ptr<RedisStoreClient>> Connect(
      const std::string& host, int port, const std::string& password,
      const std::string& prefix = "comet:");
  ~RedisStoreClient() override;

  RedisStoreClient(const RedisStoreClient&) = delete;
  RedisStoreClient& operator=(const RedisStoreClient&) = delete;

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
  struct ReplyDeleter {
    void operator()(redisReply* reply) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  RedisStoreClient(std::string host, int port, std::string password, std::string prefix)
      : host_(std::move(host)), port_(port), password_(std::move(password)),
        prefix_(std::move(prefix)) {}
  // (Re)opens the connection and authenticates.
  absl::Status Open();
  // Sends one command of binary-safe arguments; reconnects once when the
  // connection dropped. A Redis error reply is an error status.
  absl::StatusOr<Reply> Command(const std::vector<absl::string_view>& args);
  absl::StatusOr<long long> IntegerCommand(const std::vector<absl::string_view>& args);
  std::string HashName(absl::string_view table) const;
  std::string Where() const;

  const std::string host_;
  const int port_;
  const std::string password_;
  const std::string prefix_;
  redisContext* context_ = nullptr;
};

}  // namespace comet::gcs
