// Spilling of primary copies in the ObjectStore, driven by direct calls: the
// spill files in a fresh directory are checked on disk.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "src/comet/object_manager/plasma/object_store.h"
#include "src/comet/object_manager/plasma/protocol.h"

namespace comet::plasma {
namespace {

constexpr ClientId kWriter = 1;
constexpr ClientId kReader = 2;

// Bytes of object number `n`, different for every object and offset.
std::string Pattern(int n, size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((n * 131 + i * 7) & 0xff);
  return out;
}

std::string MakeTempDir() {
  std::string templ = ::testing::TempDir() + "/spill-XXXXXX";
  EXPECT_NE(mkdtemp(templ.data()), nullptr);
  return templ;
}

int CountFiles(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

class SpillTest : public ::testing::Test {
 protected:
  void SetUp() override { spill_dir_ = MakeTempDir(); }
  void TearDown() override {
    store_.reset();
    EXPECT_EQ(CountFiles(spill_dir_), 0) << "spill files left in " << spill_dir_;
    rmdir(spill_dir_.c_str());
  }

  void MakeStore(uint64_t capacity, double threshold, uint64_t min_spill_bytes,
                 std::string fallback_dir = "") {
    ObjectStoreOptions options;
    options.capacity = capacity;
    options.spill_dir = spill_dir_;
    options.spill_threshold = threshold;
    options.min_spill_bytes = min_spill_bytes;
    options.fallback_dir = std::move(fallback_dir);
    auto store = ObjectStore::Create(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Creates, fills and seals an object; the writer keeps its reference.
  absl::Status Create(const ObjectID& id, const std::string& bytes, bool primary = true) {
    absl::StatusOr<ObjectLocation> loc =
        store_->CreateObject(kWriter, id, bytes.size(), 0, primary);
    if (!loc.ok()) return loc.status();
    std::memcpy(store_->mapping(loc->fd_id)->data() + loc->data_offset, bytes.data(),
                bytes.size());
    return store_->Seal(kWriter, id);
  }

  // Create, then Release: nobody references the object.
  absl::Status Put(const ObjectID& id, const std::string& bytes, bool primary = true) {
    absl::Status created = Create(id, bytes, primary);
    if (!created.ok()) return created;
    return store_->Release(kWriter, id).status();
  }

  // The object's bytes as `client` sees them after Acquire (kept acquired).
  absl::StatusOr<std::string> Acquire(ClientId client, const ObjectID& id) {
    absl::StatusOr<ObjectLocation> loc = store_->Acquire(client, id);
    if (!loc.ok()) return loc.status();
    const uint8_t* base = store_->mapping(loc->fd_id)->data() + loc->data_offset;
    return std::string(reinterpret_cast<const char*>(base), loc->data_size);
  }

  // The object's bytes, acquired and released again.
  absl::StatusOr<std::string> Read(const ObjectID& id) {
    absl::StatusOr<std::string> bytes = Acquire(kReader, id);
    if (bytes.ok()) store_->Release(kReader, id).IgnoreError();
    return bytes;
  }

  std::string spill_dir_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(SpillTest, ThreeTimesCapacityOfPrimariesIsAllReadable) {
  constexpr uint64_t kCapacity = 1 << 20;
  constexpr size_t kSize = 16 << 10;
  MakeStore(kCapacity, 0.8, /*min_spill_bytes=*/256 << 10);
  std::vector<ObjectID> ids;
  for (int i = 0; i < static_cast<int>(3 * kCapacity / kSize); ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(Put(ids.back(), Pattern(i, kSize)).ok()) << i;
    EXPECT_LE(store_->stats().used_bytes, kCapacity * 8 / 10) << i;
  }
  StoreStats stats = store_->stats();
  EXPECT_EQ(stats.num_objects, static_cast<int64_t>(ids.size()));
  EXPECT_GE(stats.num_spilled_objects, static_cast<int64_t>(ids.size()) - 52);
  EXPECT_EQ(stats.num_objects_spilled, stats.num_spilled_objects);
  EXPECT_EQ(stats.bytes_spilled, stats.num_objects_spilled * static_cast<int64_t>(kSize));
  EXPECT_EQ(stats.spill_bytes_on_disk, stats.bytes_spilled);
  // Batched: 16 objects of 16 KiB in each file.
  EXPECT_EQ(stats.num_spill_files * 16, stats.num_objects_spilled);
  EXPECT_EQ(CountFiles(spill_dir_), stats.num_spill_files);
  EXPECT_EQ(stats.num_evictions, 0);

  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(store_->Contains(ids[i]));
    EXPECT_TRUE(store_->IsSealed(ids[i]));
    absl::StatusOr<std::string> bytes = Read(ids[i]);
    ASSERT_TRUE(bytes.ok()) << i << ": " << bytes.status();
    EXPECT_EQ(*bytes, Pattern(static_cast<int>(i), kSize)) << i;
  }
  stats = store_->stats();
  EXPECT_GT(stats.num_objects_restored, 0);
  EXPECT_EQ(stats.bytes_restored, stats.num_objects_restored * static_cast<int64_t>(kSize));
  EXPECT_LE(stats.used_bytes, kCapacity * 8 / 10);
  EXPECT_EQ(stats.num_fallback_allocations, 0);

  // Deleting everything unlinks every spill file.
  for (const ObjectID& id : ids) ASSERT_TRUE(store_->Delete(id).ok());
  stats = store_->stats();
  EXPECT_EQ(stats.num_objects, 0);
  EXPECT_EQ(stats.used_bytes, 0);
  EXPECT_EQ(stats.spill_bytes_on_disk, 0);
  EXPECT_EQ(stats.num_spill_files, 0);
  EXPECT_EQ(CountFiles(spill_dir_), 0);
}

TEST_F(SpillTest, CreateThatCannotFitSpillsOneBatchIntoOneFile) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/64 << 10);
  std::vector<ObjectID> ids(4);
  for (int i = 0; i < 4; ++i) {
    ids[i] = ObjectID::FromRandom();
    ASSERT_TRUE(Put(ids[i], Pattern(i, 16 << 10)).ok());
  }
  EXPECT_EQ(store_->stats().num_objects_spilled, 0);  // 100% is not above 1.0.
  ObjectID next = ObjectID::FromRandom();
  ASSERT_TRUE(Put(next, Pattern(9, 16 << 10)).ok());
  StoreStats stats = store_->stats();
  EXPECT_EQ(stats.num_objects_spilled, 4);
  EXPECT_EQ(stats.num_spill_files, 1);
  EXPECT_EQ(CountFiles(spill_dir_), 1);
  for (const ObjectID& id : ids) EXPECT_TRUE(store_->IsSpilled(id));

  // The file stays while any object in it lives, a restored one included.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->Delete(ids[i]).ok());
  EXPECT_EQ(CountFiles(spill_dir_), 1);
  absl::StatusOr<std::string> last = Read(ids[3]);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, Pattern(3, 16 << 10));
  EXPECT_FALSE(store_->IsSpilled(ids[3]));
  EXPECT_EQ(CountFiles(spill_dir_), 1);
  ASSERT_TRUE(store_->Delete(ids[3]).ok());
  EXPECT_EQ(CountFiles(spill_dir_), 0);
  EXPECT_EQ(store_->stats().spill_bytes_on_disk, 0);
}

TEST_F(SpillTest, RestoredObjectSpillsAgainWithoutAWrite) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0);
  ObjectID first = ObjectID::FromRandom();
  ASSERT_TRUE(Put(first, Pattern(1, 32 << 10)).ok());
  ASSERT_TRUE(Put(ObjectID::FromRandom(), Pattern(2, 32 << 10)).ok());
  ASSERT_TRUE(Put(ObjectID::FromRandom(), Pattern(3, 32 << 10)).ok());  // Spills `first`.
  ASSERT_TRUE(store_->IsSpilled(first));
  ASSERT_EQ(*Read(first), Pattern(1, 32 << 10));  // Spills the second.
  ASSERT_TRUE(Put(ObjectID::FromRandom(), Pattern(4, 64 << 10)).ok());  // Spills all.
  StoreStats stats = store_->stats();
  EXPECT_EQ(stats.num_objects_spilled, 4);
  EXPECT_EQ(stats.spill_bytes_on_disk, 3 * (32 << 10));  // `first` was written once.
  EXPECT_EQ(*Read(first), Pattern(1, 32 << 10));  // Spills the 64 KiB one.
  EXPECT_EQ(store_->stats().num_objects_restored, 2);
}

TEST_F(SpillTest, ObjectsHeldByAReaderAreNotSpilled) {
  MakeStore(64 << 10, /*threshold=*/0.5, /*min_spill_bytes=*/0);
  ObjectID held = ObjectID::FromRandom();
  ASSERT_TRUE(Put(held, Pattern(0, 16 << 10)).ok());
  ASSERT_TRUE(Acquire(kReader, held).ok());
  ObjectID unsealed = ObjectID::FromRandom();
  ASSERT_TRUE(store_->CreateObject(kWriter, unsealed, 16 << 10, 0, /*primary=*/true).ok());
  std::vector<ObjectID> others;
  for (int i = 1; i <= 8; ++i) {
    others.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(Put(others.back(), Pattern(i, 16 << 10)).ok());
  }
  EXPECT_FALSE(store_->IsSpilled(held));
  EXPECT_FALSE(store_->IsSpilled(unsealed));
  EXPECT_EQ(store_->stats().num_objects_spilled, 8);
  // Held plus unsealed is the threshold: once released, `held` goes too.
  ASSERT_TRUE(store_->Release(kReader, held).ok());
  EXPECT_FALSE(store_->IsSpilled(held));
  ASSERT_TRUE(store_->CreateObject(kWriter, ObjectID::FromRandom(), 16 << 10, 0).ok());
  EXPECT_TRUE(store_->IsSpilled(held));
  EXPECT_EQ(*Read(held), Pattern(0, 16 << 10));
}

TEST_F(SpillTest, NonPrimaryCopiesAreEvictedBeforePrimariesSpill) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0);
  ObjectID primary[2] = {ObjectID::FromRandom(), ObjectID::FromRandom()};
  ObjectID cached[2] = {ObjectID::FromRandom(), ObjectID::FromRandom()};
  // Cached copies in the upper half, so that evicting both frees one block.
  ASSERT_TRUE(Put(primary[0], Pattern(0, 16 << 10)).ok());
  ASSERT_TRUE(Put(primary[1], Pattern(1, 16 << 10)).ok());
  ASSERT_TRUE(Put(cached[0], Pattern(2, 16 << 10), /*primary=*/false).ok());
  ASSERT_TRUE(Put(cached[1], Pattern(3, 16 << 10), /*primary=*/false).ok());
  ASSERT_TRUE(store_->CreateObject(kWriter, ObjectID::FromRandom(), 32 << 10, 0).ok());
  EXPECT_FALSE(store_->Contains(cached[0]));
  EXPECT_FALSE(store_->Contains(cached[1]));
  EXPECT_EQ(store_->stats().num_evictions, 2);
  EXPECT_EQ(store_->stats().num_objects_spilled, 0);
  ASSERT_TRUE(store_->CreateObject(kWriter, ObjectID::FromRandom(), 16 << 10, 0).ok());
  EXPECT_TRUE(store_->IsSpilled(primary[0]));  // The older primary only.
  EXPECT_FALSE(store_->IsSpilled(primary[1]));
}

TEST_F(SpillTest, RestoreWhileFullSpillsOthers) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0);
  std::vector<ObjectID> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(Put(ids.back(), Pattern(i, 16 << 10)).ok());
  }
  ASSERT_TRUE(store_->IsSpilled(ids[0]));
  ASSERT_EQ(store_->stats().used_bytes, 64 << 10);  // Full of spillable primaries.
  absl::StatusOr<std::string> bytes = Read(ids[0]);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, Pattern(0, 16 << 10));
  EXPECT_TRUE(store_->IsSpilled(ids[4]));  // The oldest one in memory made room.
  EXPECT_EQ(store_->stats().num_objects_restored, 1);
}

TEST_F(SpillTest, RestoreWhileFullOfHeldObjectsUsesTheFallback) {
  std::string fallback_dir = MakeTempDir();
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0, fallback_dir);
  ObjectID spilled = ObjectID::FromRandom();
  ASSERT_TRUE(Put(spilled, Pattern(7, 16 << 10)).ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(Create(ObjectID::FromRandom(), Pattern(i, 16 << 10)).ok());
  }
  ASSERT_TRUE(store_->IsSpilled(spilled));
  absl::StatusOr<ObjectLocation> loc = store_->Acquire(kReader, spilled);
  ASSERT_TRUE(loc.ok()) << loc.status();
  EXPECT_TRUE(loc->fallback);
  const uint8_t* data = store_->mapping(loc->fd_id)->data() + loc->data_offset;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), loc->data_size),
            Pattern(7, 16 << 10));
  EXPECT_EQ(store_->stats().num_fallback_allocations, 1);
  ASSERT_TRUE(store_->Release(kReader, spilled).ok());
  ASSERT_TRUE(store_->Delete(spilled).ok());
  EXPECT_EQ(store_->stats().fallback_bytes, 0);
  rmdir(fallback_dir.c_str());
}

TEST_F(SpillTest, RestoreWithNoRoomAnywhereFailsAndKeepsTheObject) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0);
  ObjectID spilled = ObjectID::FromRandom();
  ASSERT_TRUE(Put(spilled, Pattern(7, 16 << 10)).ok());
  std::vector<ObjectID> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(Create(held.back(), Pattern(i, 16 << 10)).ok());
  }
  absl::StatusOr<std::string> bytes = Read(spilled);
  EXPECT_EQ(ErrorCodeOf(bytes.status()), fb::ErrorCode::OutOfMemory);
  EXPECT_TRUE(store_->Contains(spilled));
  EXPECT_TRUE(store_->IsSpilled(spilled));
  ASSERT_TRUE(store_->Release(kWriter, held[0]).ok());  // Now spillable: room for it.
  bytes = Read(spilled);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, Pattern(7, 16 << 10));
}

TEST_F(SpillTest, DestroyingTheStoreRemovesSpillFiles) {
  MakeStore(64 << 10, /*threshold=*/0.5, /*min_spill_bytes=*/0);
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(Put(ObjectID::FromRandom(), Pattern(i, 8 << 10)).ok());
  EXPECT_GT(CountFiles(spill_dir_), 0);
  store_.reset();
  EXPECT_EQ(CountFiles(spill_dir_), 0);
}

TEST_F(SpillTest, FailedSpillKeepsObjectsInMemory) {
  MakeStore(64 << 10, /*threshold=*/1.0, /*min_spill_bytes=*/0);
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(Put(id, Pattern(0, 48 << 10)).ok());
  ASSERT_EQ(rmdir(spill_dir_.c_str()), 0);
  auto result = store_->CreateObject(kWriter, ObjectID::FromRandom(), 32 << 10, 0);
  EXPECT_EQ(ErrorCodeOf(result.status()), fb::ErrorCode::OutOfMemory);
  EXPECT_NE(result.status().message().find("spilling failed"), std::string::npos);
  EXPECT_FALSE(store_->IsSpilled(id));
  EXPECT_EQ(store_->stats().num_spill_failures, 1);
  EXPECT_EQ(*Read(id), Pattern(0, 48 << 10));
  ASSERT_EQ(mkdir(spill_dir_.c_str(), 0700), 0);
}

TEST(SpillOptionsTest, BadThresholdIsRejected) {
  ObjectStoreOptions options;
  options.capacity = 1 << 20;
  options.spill_dir = ::testing::TempDir();
  options.spill_threshold = 1.5;
  EXPECT_EQ(ObjectStore::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace comet::plasma
