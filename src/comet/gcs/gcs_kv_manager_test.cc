#include "src/comet/gcs/gcs_kv_manager.h"

#include <gtest/gtest.h>

#include "src/comet/gcs/in_memory_store_client.h"

namespace comet::gcs {
namespace {

using Keys = std::vector<std::string>;

class GcsKvManagerTest : public ::testing::Test {
 protected:
  InMemoryStoreClient store_;
  GcsKvManager kv_{&store_};
};

TEST_F(GcsKvManagerTest, PutWithoutOverwriteKeepsExistingValue) {
  EXPECT_TRUE(*kv_.Put("ns", "k", "first", /*overwrite=*/false));
  EXPECT_FALSE(*kv_.Put("ns", "k", "second", /*overwrite=*/false));
  EXPECT_EQ(**kv_.Get("ns", "k"), "first");
}

TEST_F(GcsKvManagerTest, PutWithOverwriteReplacesButIsNotAdded) {
  EXPECT_TRUE(*kv_.Put("ns", "k", "first", /*overwrite=*/true));
  EXPECT_FALSE(*kv_.Put("ns", "k", "second", /*overwrite=*/true));
  EXPECT_EQ(**kv_.Get("ns", "k"), "second");
}

TEST_F(GcsKvManagerTest, GetMissingKeyIsNotFoundNotAnError) {
  auto got = kv_.Get("ns", "missing");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_FALSE(*kv_.Exists("ns", "missing"));
}

TEST_F(GcsKvManagerTest, NamespacesAreIsolatedEvenWithSeparatorLikeBytes) {
  ASSERT_TRUE(kv_.Put("a:b", "c", "1", true).ok());
  ASSERT_TRUE(kv_.Put("a", "b:c", "2", true).ok());
  ASSERT_TRUE(kv_.Put("", "c", "3", true).ok());
  EXPECT_EQ(**kv_.Get("a:b", "c"), "1");
  EXPECT_EQ(**kv_.Get("a", "b:c"), "2");
  EXPECT_EQ(**kv_.Get("", "c"), "3");
  EXPECT_EQ(*kv_.Keys("a", ""), Keys{"b:c"});
  EXPECT_EQ(*kv_.Del("a", "", /*by_prefix=*/true), 1);
  EXPECT_TRUE(*kv_.Exists("a:b", "c"));
  EXPECT_TRUE(*kv_.Exists("", "c"));
}

TEST_F(GcsKvManagerTest, KeysFiltersByPrefix) {
  for (const char* key : {"fn:1", "fn:2", "fx", "actor:1"}) {
    ASSERT_TRUE(kv_.Put("ns", key, "v", true).ok());
  }
  EXPECT_EQ(*kv_.Keys("ns", "fn:"), (Keys{"fn:1", "fn:2"}));
  EXPECT_EQ(*kv_.Keys("ns", "f"), (Keys{"fn:1", "fn:2", "fx"}));
  EXPECT_EQ(kv_.Keys("ns", "")->size(), 4u);
  EXPECT_TRUE(kv_.Keys("other", "")->empty());
}

TEST_F(GcsKvManagerTest, DelSingleKeyCountsWhatExisted) {
  ASSERT_TRUE(kv_.Put("ns", "k", "v", true).ok());
  ASSERT_TRUE(kv_.Put("ns", "k2", "v", true).ok());
  EXPECT_EQ(*kv_.Del("ns", "k", /*by_prefix=*/false), 1);
  EXPECT_EQ(*kv_.Del("ns", "k", /*by_prefix=*/false), 0);
  EXPECT_TRUE(*kv_.Exists("ns", "k2"));
}

TEST_F(GcsKvManagerTest, DelByPrefixDeletesOnlyMatchingKeys) {
  for (const char* key : {"job:1:a", "job:1:b", "job:10", "job:2"}) {
    ASSERT_TRUE(kv_.Put("ns", key, "v", true).ok());
  }
  EXPECT_EQ(*kv_.Del("ns", "job:1:", /*by_prefix=*/true), 2);
  EXPECT_EQ(*kv_.Keys("ns", ""), (Keys{"job:10", "job:2"}));
  EXPECT_EQ(*kv_.Del("ns", "nothing", /*by_prefix=*/true), 0);
}

}  // namespace
}  // namespace comet::gcs
