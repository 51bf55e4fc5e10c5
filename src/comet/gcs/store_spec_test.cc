#include "src/comet/gcs/store_spec.h"

#include <gtest/gtest.h>

namespace comet::gcs {
namespace {

TEST(StoreSpecTest, ParsesEachBackend) {
  EXPECT_EQ(ParseStoreSpec("")->kind, StoreSpec::kMemory);
  EXPECT_EQ(ParseStoreSpec("memory")->kind, StoreSpec::kMemory);
  auto sqlite = ParseStoreSpec("sqlite:/tmp/s/gcs.db");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->kind, StoreSpec::kSqlite);
  EXPECT_EQ(sqlite->path, "/tmp/s/gcs.db");
  auto redis = ParseStoreSpec("redis://10.0.0.5:6380");
  ASSERT_TRUE(redis.ok());
  EXPECT_EQ(redis->kind, StoreSpec::kRedis);
  EXPECT_EQ(redis->host, "10.0.0.5");
  EXPECT_EQ(redis->port, 6380);
  EXPECT_EQ(redis->key_prefix, "comet:");
  auto named = ParseStoreSpec("redis://[::1]:6379/prod");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->host, "::1");
  EXPECT_EQ(named->key_prefix, "comet:prod:");
}

TEST(StoreSpecTest, BadValuesNameTheFlag) {
  for (const char* bad : {"sqlite:", "redis://host", "redis://host:0", "redis://:pw@h:1",
                          "rocksdb:/x", "redis://h:99999"}) {
    auto spec = ParseStoreSpec(bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_NE(spec.status().message().find("--storage="), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace comet::gcs
