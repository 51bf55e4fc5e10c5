// The plasma store end to end over its real unix socket: clients in threads of
// this process, shared memory mapped through passed descriptors.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/comet/object_manager/plasma/client.h"
#include "src/comet/object_manager/plasma/fd_passing.h"
#include "src/comet/object_manager/plasma/store_runner.h"

namespace comet::plasma {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void StartStore(uint64_t capacity, int64_t fallback_timeout_ms = 2000) {
    PlasmaStoreOptions options;
    // Unix socket paths are short; Bazel's TempDir() may be too long for one.
    char dir[] = "/tmp/plasma-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    socket_dir_ = dir;
    options.socket_path = socket_dir_ + "/store.sock";
    options.capacity = capacity;
    options.fallback_dir = ::testing::TempDir();
    options.fallback_timeout_ms = fallback_timeout_ms;
    options.spill_dir = spill_dir_;
    options.min_spill_bytes = 256 << 10;
    auto runner = PlasmaStoreRunner::Start(options);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = *std::move(runner);
  }

  std::shared_ptr<PlasmaClient> Connect(const std::string& name = "test") {
    auto client = PlasmaClient::Connect(runner_->socket_path(), name);
    EXPECT_TRUE(client.ok()) << client.status();
    return *client;
  }

  void TearDown() override {
    if (runner_) runner_->Stop();
    if (!socket_dir_.empty()) rmdir(socket_dir_.c_str());
    if (!spill_dir_.empty()) rmdir(spill_dir_.c_str());
  }

  // Set before StartStore to turn spilling on.
  std::string spill_dir_;
  std::string socket_dir_;
  std::unique_ptr<PlasmaStoreRunner> runner_;
};

// Polls `cond` until it holds or a generous deadline passes.
template <typename Cond>
bool WaitFor(Cond cond) {
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (cond()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return cond();
}

TEST_F(StoreTest, PutFromOneClientGetFromAnother) {
  StartStore(1 << 20);
  auto writer = Connect("writer");
  auto reader = Connect("reader");
  EXPECT_EQ(writer->capacity(), 1u << 20);
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(writer->Put(id, "hello plasma", "meta").ok());
  auto got = reader->Get({id}, 0);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE((*got)[0].has_value());
  const ObjectBuffer& buf = *(*got)[0];
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data), buf.data_size), "hello plasma");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.metadata), buf.metadata_size), "meta");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.data) % 64, 0u);
  ASSERT_TRUE(*reader->Contains(id));
  ASSERT_TRUE(reader->Release(id).ok());
  EXPECT_EQ(reader->Release(id).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, GetTimesOutForMissingObjectsAndWaitsForSeal) {
  StartStore(1 << 20);
  auto writer = Connect();
  auto reader = Connect();
  ObjectID missing = ObjectID::FromRandom();
  auto none = reader->Get({missing}, 50);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)[0].has_value());

  ObjectID later = ObjectID::FromRandom();
  std::thread sealer([&] {
    auto buf = writer->Create(later, 8);
    ASSERT_TRUE(buf.ok());
    std::memcpy(buf->data, "abcdefgh", 8);
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(writer->Seal(later).ok());
  });
  // `missing` is never sealed, so the Get returns at its timeout with `later`.
  auto got = reader->Get({later, missing}, 500);
  sealer.join();
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ(std::memcmp((*got)[0]->data, "abcdefgh", 8), 0);
  EXPECT_FALSE((*got)[1].has_value());
}

TEST_F(StoreTest, ErrorsReachTheCaller) {
  StartStore(1 << 20);
  auto client = Connect();
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(client->Create(id, 10).ok());
  auto again = client->Create(id, 10);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(client->Seal(id).ok());
  EXPECT_NE(client->Seal(id).message().find("already sealed"), std::string::npos);
  auto huge = client->Create(ObjectID::FromRandom(), 2 << 20);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kOutOfRange);
  auto deleted = client->Delete({ObjectID::FromRandom(), id});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ((*deleted)[0].code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE((*deleted)[1].ok());
}

TEST_F(StoreTest, QueuedCreateProceedsWhenMemoryIsReleased) {
  StartStore(64 * 1024, /*fallback_timeout_ms=*/-1);
  auto holder = Connect();
  auto creator = Connect();
  ObjectID big = ObjectID::FromRandom();
  ASSERT_TRUE(holder->Create(big, 48 * 1024).ok());
  ASSERT_TRUE(holder->Seal(big).ok());
  std::atomic<bool> created{false};
  ObjectID next = ObjectID::FromRandom();
  std::thread waiter([&] {
    auto buf = creator->Create(next, 32 * 1024);
    EXPECT_TRUE(buf.ok()) << buf.status();
    EXPECT_FALSE(buf->fallback);
    created = true;
  });
  auto observer = Connect();
  ASSERT_TRUE(WaitFor([&] { return observer->Stats()->num_pending_creates == 1; }));
  EXPECT_FALSE(created);
  ASSERT_TRUE(holder->Release(big).ok());  // Now evictable: the create goes ahead.
  waiter.join();
  EXPECT_TRUE(created);
  EXPECT_EQ(observer->Stats()->num_evictions, 1);
}

TEST_F(StoreTest, FallsBackToAFileMappingWhenNothingFrees) {
  StartStore(64 * 1024, /*fallback_timeout_ms=*/100);
  auto holder = Connect();
  ObjectID pinned = ObjectID::FromRandom();
  ASSERT_TRUE(holder->Create(pinned, 60 * 1024).ok());
  auto creator = Connect();
  ObjectID id = ObjectID::FromRandom();
  auto buf = creator->Create(id, 40 * 1024);
  ASSERT_TRUE(buf.ok()) << buf.status();
  EXPECT_TRUE(buf->fallback);
  std::memset(buf->data, 7, 40 * 1024);
  ASSERT_TRUE(creator->Seal(id).ok());
  auto reader = Connect();
  auto got = reader->Get({id}, 1000);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_TRUE((*got)[0]->fallback);
  EXPECT_EQ((*got)[0]->data[40 * 1024 - 1], 7);
  auto stats = reader->Stats();
  EXPECT_EQ(stats->num_fallback_allocations, 1);
  EXPECT_GE(stats->fallback_bytes, 40 * 1024);
  // Released by all, then deleted: the mapping goes away on both sides.
  ASSERT_TRUE(reader->Release(id).ok());
  ASSERT_TRUE(creator->Release(id).ok());
  ASSERT_TRUE((*reader->Delete({id}))[0].ok());
  EXPECT_EQ(reader->Stats()->fallback_bytes, 0);
}

TEST_F(StoreTest, DisconnectReleasesEverythingTheClientHeld) {
  StartStore(1 << 20);
  auto observer = Connect();
  ObjectID sealed = ObjectID::FromRandom();
  ObjectID unsealed = ObjectID::FromRandom();
  {
    auto client = Connect();
    ASSERT_TRUE(client->Put(sealed, "data").ok());
    ASSERT_TRUE(client->Get({sealed, sealed}, 0).ok());
    ASSERT_TRUE(client->Create(unsealed, 1000).ok());
    EXPECT_EQ(observer->Stats()->num_objects, 2);
  }  // Destroyed: the connection closes.
  ASSERT_TRUE(WaitFor([&] { return observer->Stats()->num_objects == 1; }));
  auto list = observer->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, sealed);
  EXPECT_EQ((*list)[0].ref_count, 0);
}

TEST_F(StoreTest, GarbageOnTheSocketGetsAnErrorAndOthersKeepWorking) {
  StartStore(1 << 20);
  auto good = Connect();
  auto sock = ConnectUnixSocket(runner_->socket_path());
  ASSERT_TRUE(sock.ok());
  std::string junk = "GET / HTTP/1.1\r\nHost: plasma\r\n\r\n";
  ASSERT_EQ(send(*sock, junk.data(), junk.size(), MSG_NOSIGNAL), static_cast<ssize_t>(junk.size()));
  auto reply = ReceiveMessage(*sock, 1 << 20);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->type, fb::MessageType::ErrorReply);
  auto* err = flatbuffers::GetRoot<fb::ErrorReply>(reply->payload.data());
  EXPECT_EQ(err->error(), fb::ErrorCode::InvalidRequest);
  EXPECT_NE(err->message()->str().find("bad message magic"), std::string::npos);
  char byte;
  EXPECT_LE(recv(*sock, &byte, 1, 0), 0);  // The store closed it (EOF or reset).
  close(*sock);

  // A well-framed message with a payload that is not a valid FlatBuffer.
  auto sock2 = ConnectUnixSocket(runner_->socket_path());
  ASSERT_TRUE(sock2.ok());
  MessageHeader header{kProtocolMagic, static_cast<int32_t>(fb::MessageType::CreateRequest), 8};
  std::string framed(reinterpret_cast<const char*>(&header), sizeof(header));
  framed += std::string(8, '\xff');
  ASSERT_TRUE(SendAll(*sock2, framed, {}).ok());
  reply = ReceiveMessage(*sock2, 1 << 20);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->type, fb::MessageType::ErrorReply);
  close(*sock2);

  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(good->Put(id, "still fine").ok());
  EXPECT_TRUE(*good->Contains(id));
}

TEST_F(StoreTest, RequestWithAMalformedIdIsRejected) {
  StartStore(1 << 20);
  auto sock = ConnectUnixSocket(runner_->socket_path());
  ASSERT_TRUE(sock.ok());
  flatbuffers::FlatBufferBuilder fbb;
  uint8_t short_id[5] = {1, 2, 3, 4, 5};
  fbb.Finish(fb::CreateSealRequest(fbb, fbb.CreateVector(short_id, 5)));
  ASSERT_TRUE(SendAll(*sock, FrameMessage(fb::MessageType::SealRequest, fbb), {}).ok());
  auto reply = ReceiveMessage(*sock, 1 << 20);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->type, fb::MessageType::SealReply);
  auto* seal = flatbuffers::GetRoot<fb::SealReply>(reply->payload.data());
  EXPECT_EQ(seal->error(), fb::ErrorCode::InvalidRequest);
  EXPECT_NE(seal->message()->str().find("ObjectID"), std::string::npos);
  close(*sock);
}

TEST_F(StoreTest, SecondStoreOnTheSameSocketIsRefused) {
  StartStore(1 << 20);
  PlasmaStoreOptions options;
  options.socket_path = runner_->socket_path();
  options.capacity = 1 << 20;
  auto second = PlasmaStoreRunner::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  options.socket_path = "/tmp/" + std::string(200, 'x');
  auto too_long = PlasmaStoreRunner::Start(options);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
}

int CountFiles(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] == '.' ? 0 : 1;
  closedir(d);
  return n;
}

std::string Pattern(int n, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((n * 131 + i * 7) & 0xff);
  return out;
}

TEST_F(StoreTest, SpillsPrimariesAndRestoresThemOnGet) {
  char dir[] = "/tmp/plasma-spill-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  spill_dir_ = dir;
  constexpr uint64_t kCapacity = 1 << 20;
  constexpr size_t kSize = 64 << 10;
  StartStore(kCapacity);
  auto writer = Connect("writer");
  auto reader = Connect("reader");
  std::vector<ObjectID> ids;
  for (int i = 0; i < static_cast<int>(3 * kCapacity / kSize); ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(writer->Put(ids.back(), Pattern(i, kSize), "", /*primary=*/true).ok()) << i;
  }
  StoreStats stats = runner_->stats();
  EXPECT_GT(stats.num_spilled_objects, 0);
  EXPECT_EQ(stats.num_objects, static_cast<int64_t>(ids.size()));
  EXPECT_LE(stats.num_spill_files * 4, stats.num_objects_spilled);  // Batched.
  EXPECT_EQ(stats.num_fallback_allocations, 0);
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(*reader->Contains(ids[i]));
    auto got = reader->Get({ids[i]}, 0);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE((*got)[0].has_value()) << i;
    const ObjectBuffer& buf = *(*got)[0];
    EXPECT_FALSE(buf.fallback);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data), buf.data_size),
              Pattern(static_cast<int>(i), kSize))
        << i;
    ASSERT_TRUE(reader->Release(ids[i]).ok());
  }
  stats = runner_->stats();
  EXPECT_GT(stats.num_objects_restored, 0);
  EXPECT_GT(CountFiles(spill_dir_), 0);
  // Deleting half keeps the files that still hold the other half; stopping
  // the store removes the rest.
  std::vector<ObjectID> half(ids.begin(), ids.begin() + ids.size() / 2);
  ASSERT_TRUE(writer->Delete(half).ok());
  EXPECT_EQ(runner_->stats().num_objects, static_cast<int64_t>(ids.size() - half.size()));
  runner_->Stop();
  EXPECT_EQ(CountFiles(spill_dir_), 0);
}

}  // namespace
}  // namespace comet::plasma
