// Which backend holds the GCS tables, from gcs_server's --storage flag:
//
//   memory                      tables in this process only (the default)
//   sqlite:PATH                 one SQLite file (the head's default)
//   redis://HOST:PORT[/NS]      a Redis server; NS keeps clusters sharing it
//                               apart; the password, if any, comes from
//                               COMET_REDIS_PASSWORD (never a flag: `ps`)
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

struct StoreSpec {
  enum Kind { kMemory, kSqlite, kRedis };
  Kind kind = kMemory;
  std::string path;  // kSqlite
  std::string host;  // kRedis
  int port = 0;
  std::string key_prefix;  // kRedis: "comet:" or "comet:NS:"
};

// Parses the flag's value; a clear InvalidArgument naming --storage otherwise.
absl::StatusOr<StoreSpec> ParseStoreSpec(const std::string& text);

// Opens the backend `spec` names.
absl::StatusOr<std::unique_ptr<StoreClient>> OpenStore(const StoreSpec& spec,
                                                       const std::string& redis_password);

}  // namespace comet::gcs
