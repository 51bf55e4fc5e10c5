#include "src/comet/gcs/store_spec.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "src/comet/gcs/in_memory_store_client.h"
#include "src/comet/gcs/redis_store_client.h"
#include "src/comet/gcs/sqlite_store_client.h"

namespace comet::gcs {
namespace {

absl::Status Bad(const std::string& text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--storage=", text, ": ", why,
      " (expected memory, sqlite:PATH or redis://HOST:PORT[/NAMESPACE])"));
}

}  // namespace

absl::StatusOr<StoreSpec> ParseStoreSpec(const std::string& text) {
  StoreSpec spec;
  absl::string_view rest = text;
  if (text.empty() || text == "memory") return spec;
  if (absl::ConsumePrefix(&rest, "sqlite:")) {
    if (rest.empty()) return Bad(text, "the SQLite file's path is missing");
    spec.kind = StoreSpec::kSqlite;
    spec.path = std::string(rest);
    return spec;
  }
  if (absl::ConsumePrefix(&rest, "redis://")) {
    spec.kind = StoreSpec::kRedis;
    absl::string_view ns;
    size_t slash = rest.find('/');
    if (slash != absl::string_view::npos) {
      ns = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    if (rest.find('@') != absl::string_view::npos) {
      return Bad(text, "put the password in COMET_REDIS_PASSWORD, not in the address");
    }
    size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(rest.substr(colon + 1), &spec.port) || spec.port <= 0 ||
        spec.port > 65535) {
      return Bad(text, "HOST:PORT with a port from 1 to 65535 is required");
    }
    spec.host = std::string(absl::StripPrefix(absl::StripSuffix(rest.substr(0, colon), "]"), "["));
    spec.key_prefix = ns.empty() ? "comet:" : absl::StrCat("comet:", ns, ":");
    return spec;
  }
  return Bad(text, "unknown storage");
}

absl::StatusOr<std::unique_ptr<StoreClient>> OpenStore(const StoreSpec& spec,
                                                       const std::string& redis_password) {
  switch (spec.kind) {
    case StoreSpec::kSqlite: {
      auto store = SqliteStoreClient::Open(spec.path);
      if (!store.ok()) return store.status();
      return std::unique_ptr<StoreClient>(std::move(*store));
    }
    case StoreSpec::kRedis: {
      auto store = RedisStoreClient::Connect(spec.host, spec.port, redis_password,
                                             spec.key_prefix);
      if (!store.ok()) return store.status();
      return std::unique_ptr<StoreClient>(std::move(*store));
    }
    case StoreSpec::kMemory:
      break;
  }
  return std::unique_ptr<StoreClient>(new InMemoryStoreClient());
}

}  // namespace comet::gcs
