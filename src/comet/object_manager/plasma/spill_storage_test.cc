// SpillStorage: batches in one file, reads back, per-file live counts.
#include "src/comet/object_manager/plasma/spill_storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace comet::plasma {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string FilePath(const std::string& dir, int64_t file_id) {
  return dir + "/spill-" + std::to_string(getpid()) + "-" + std::to_string(file_id) + ".bin";
}

class SpillStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/spill-storage-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ + "/spill";  // Not there yet: Create makes it.
    auto storage = SpillStorage::Create(dir_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = *std::move(storage);
  }

  std::string dir_;
  std::unique_ptr<SpillStorage> storage_;
};

TEST_F(SpillStorageTest, WritesABatchIntoOneFileAndReadsItBack) {
  std::string a = "first object", b(10000, 'b'), c;
  auto locs = storage_->WriteBatch({Bytes(a), Bytes(b), Bytes(c)});
  ASSERT_TRUE(locs.ok()) << locs.status();
  ASSERT_EQ(locs->size(), 3u);
  EXPECT_EQ((*locs)[0].file_id, (*locs)[2].file_id);
  EXPECT_EQ((*locs)[1].offset, a.size());
  EXPECT_EQ(storage_->num_files(), 1u);
  EXPECT_EQ(storage_->bytes_on_disk(), a.size() + b.size());
  std::string out(b.size(), '\0');
  ASSERT_TRUE(storage_->Read((*locs)[1], reinterpret_cast<uint8_t*>(out.data())).ok());
  EXPECT_EQ(out, b);
  std::string path = FilePath(dir_, (*locs)[0].file_id);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  storage_->Drop((*locs)[0]);
  storage_->Drop((*locs)[2]);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  storage_->Drop((*locs)[1]);
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  EXPECT_EQ(storage_->num_files(), 0u);
  EXPECT_EQ(storage_->bytes_on_disk(), 0u);
}

TEST_F(SpillStorageTest, EmptyBatchWritesNothing) {
  auto locs = storage_->WriteBatch({});
  ASSERT_TRUE(locs.ok());
  EXPECT_TRUE(locs->empty());
  EXPECT_EQ(storage_->num_files(), 0u);
}

TEST_F(SpillStorageTest, DestructorUnlinksEveryFile) {
  std::string a = "a";
  auto first = storage_->WriteBatch({Bytes(a)});
  auto second = storage_->WriteBatch({Bytes(a)});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE((*first)[0].file_id, (*second)[0].file_id);
  storage_.reset();
  EXPECT_NE(access(FilePath(dir_, (*first)[0].file_id).c_str(), F_OK), 0);
  EXPECT_NE(access(FilePath(dir_, (*second)[0].file_id).c_str(), F_OK), 0);
  EXPECT_EQ(rmdir(dir_.c_str()), 0);  // Empty.
}

TEST_F(SpillStorageTest, NameTakenByAnotherStoreIsSkipped) {
  auto other = SpillStorage::Create(dir_);
  ASSERT_TRUE(other.ok());
  std::string a = "a";
  auto mine = storage_->WriteBatch({Bytes(a)});
  auto theirs = (*other)->WriteBatch({Bytes(a)});
  ASSERT_TRUE(mine.ok() && theirs.ok()) << theirs.status();
  storage_.reset();  // Leaves the other store's file alone.
  std::string out(1, '\0');
  EXPECT_TRUE((*other)->Read((*theirs)[0], reinterpret_cast<uint8_t*>(out.data())).ok());
}

TEST_F(SpillStorageTest, WriteIntoAMissingDirectoryFails) {
  ASSERT_EQ(rmdir(dir_.c_str()), 0);
  std::string a = "a";
  EXPECT_FALSE(storage_->WriteBatch({Bytes(a)}).ok());
  EXPECT_EQ(storage_->num_files(), 0u);
}

}  // namespace
}  // namespace comet::plasma
