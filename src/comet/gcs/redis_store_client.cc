#include "src/comet/gcs/redis_store_client.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/comet/common/status_macros.h"

namespace comet::gcs {

void RedisStoreClient::ReplyDeleter::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

absl::StatusOr<std::unique_ptr<RedisStoreClient>> RedisStoreClient::Connect(
    const std::string& host, int port, const std::string& password, const std::string& prefix) {
  std::unique_ptr<RedisStoreClient> store(new RedisStoreClient(host, port, password, prefix));
  RETURN_IF_ERROR(store->Open());
  // A first command proves the server answers (and accepted the password).
  RETURN_IF_ERROR(store->Command({"PING"}).status());
  return store;
}

RedisStoreClient::~RedisStoreClient() {
  if (context_ != nullptr) redisFree(context_);
}

std::string RedisStoreClient::Where() const {
  return absl::StrCat("GCS storage redis://", host_, ":", port_);
}

absl::Status RedisStoreClient::Open() {
  if (context_ != nullptr) redisFree(context_);
  struct timeval timeout = {5, 0};
  context_ = redisConnectWithTimeout(host_.c_str(), port_, timeout);
  if (context_ == nullptr || context_->err) {
    std::string message = context_ == nullptr ? "out of memory" : context_->errstr;
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
    return absl::UnavailableError(absl::StrCat(Where(), ": cannot connect: ", message));
  }
  redisSetTimeout(context_, timeout);
  if (!password_.empty()) {
    Reply reply(static_cast<redisReply*>(
        redisCommand(context_, "AUTH %b", password_.data(), password_.size())));
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR) {
      std::string message = reply == nullptr ? context_->errstr : reply->str;
      return absl::UnauthenticatedError(absl::StrCat(Where(), ": AUTH refused: ", message));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisStoreClient::Reply> RedisStoreClient::Command(
    const std::vector<absl::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (absl::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (context_ == nullptr || context_->err) RETURN_IF_ERROR(Open());
    Reply reply(static_cast<redisReply*>(redisCommandArgv(
        context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (reply == nullptr) continue;  // The connection dropped: open it again once.
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(
          absl::StrCat(Where(), ": ", args.front(), " failed: ", reply->str));
    }
    return reply;
  }
  return absl::UnavailableError(absl::StrCat(Where(), ": ", args.front(), " failed: ",
                                             context_ == nullptr ? "" : context_->errstr));
}

absl::StatusOr<long long> RedisStoreClient::IntegerCommand(
    const std::vector<absl::string_view>& args) {
  ASSIGN_OR_RETURN(Reply reply, Command(args));
  if (reply->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat(Where(), ": ", args.front(), ": not an integer reply"));
  }
  return reply->integer;
}

std::string RedisStoreClient::HashName(absl::string_view table) const {
  return absl::StrCat(prefix_, table);
}

absl::StatusOr<bool> RedisStoreClient::Put(absl::string_view table, absl::string_view key,
                                           absl::string_view value, bool overwrite) {
  std::string hash = HashName(table);
  ASSIGN_OR_RETURN(long long added,
                   IntegerCommand({overwrite ? "HSET" : "HSETNX", hash, key, value}));
  return added == 1;
}

absl::StatusOr<std::optional<std::string>> RedisStoreClient::Get(absl::string_view table,
                                                                 absl::string_view key) {
  ASSIGN_OR_RETURN(Reply reply, Command({"HGET", HashName(table), key}));
  if (reply->type != REDIS_REPLY_STRING) return std::optional<std::string>();
  return std::optional<std::string>(std::string(reply->str, reply->len));
}

absl::StatusOr<bool> RedisStoreClient::Delete(absl::string_view table, absl::string_view key) {
  ASSIGN_OR_RETURN(long long deleted, IntegerCommand({"HDEL", HashName(table), key}));
  return deleted == 1;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisStoreClient::GetAll(
    absl::string_view table) {
  ASSIGN_OR_RETURN(Reply reply, Command({"HGETALL", HashName(table)}));
  std::vector<std::pair<std::string, std::string>> rows;
  for (size_t i = 0; i + 1 < reply->elements; i += 2) {
    const redisReply* key = reply->element[i];
    const redisReply* value = reply->element[i + 1];
    rows.emplace_back(std::string(key->str, key->len), std::string(value->str, value->len));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

absl::StatusOr<std::vector<std::string>> RedisStoreClient::Keys(absl::string_view table,
                                                                absl::string_view prefix) {
  ASSIGN_OR_RETURN(Reply reply, Command({"HKEYS", HashName(table)}));
  std::vector<std::string> keys;
  for (size_t i = 0; i < reply->elements; ++i) {
    absl::string_view key(reply->element[i]->str, reply->element[i]->len);
    if (absl::StartsWith(key, prefix)) keys.emplace_back(key);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

absl::StatusOr<bool> RedisStoreClient::Exists(absl::string_view table, absl::string_view key) {
  ASSIGN_OR_RETURN(long long exists, IntegerCommand({"HEXISTS", HashName(table), key}));
  return exists == 1;
}

absl::Status RedisStoreClient::WriteBatch(
    absl::string_view table, const std::vector<std::pair<std::string, std::string>>& puts,
    const std::vector<std::string>& deletes) {
  // A few commands of many fields each (HSET and HDEL take several), in
  // bounded chunks so that no one command is huge.
  constexpr size_t kChunk = 1000;
  std::string hash = HashName(table);
  for (size_t start = 0; start < puts.size(); start += kChunk) {
    std::vector<absl::string_view> args = {"HSET", hash};
    for (size_t i = start; i < std::min(puts.size(), start + kChunk); ++i) {
      args.push_back(puts[i].first);
      args.push_back(puts[i].second);
    }
    RETURN_IF_ERROR(IntegerCommand(args).status());
  }
  for (size_t start = 0; start < deletes.size(); start += kChunk) {
    std::vector<absl::string_view> args = {"HDEL", hash};
    for (size_t i = start; i < std::min(deletes.size(), start + kChunk); ++i) {
      args.push_back(deletes[i]);
    }
    RETURN_IF_ERROR(IntegerCommand(args).status());
  }
  return absl::OkStatus();
}

}  // namespace comet::gcs
