// The behaviour every StoreClient must have, as a parameterized suite: a
// backend's test instantiates it with a factory that makes an empty store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/comet/gcs/store_client.h"

namespace comet::gcs {

using StoreFactory = std::function<std::unique_ptr<StoreClient>()>;

class StoreClientSuite : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    store_ = GetParam()();
    ASSERT_NE(store_, nullptr);
  }
  StoreClient& store() { return *store_; }

 private:
  std::unique_ptr<StoreClient> store_;
};

using Rows = std::vector<std::pair<std::string, std::string>>;

TEST_P(StoreClientSuite, PutReportsAddedAndHonoursOverwrite) {
  EXPECT_TRUE(*store().Put("t", "k", "v1", /*overwrite=*/false));
  EXPECT_FALSE(*store().Put("t", "k", "v2", /*overwrite=*/false));
  EXPECT_EQ(**store().Get("t", "k"), "v1");
  EXPECT_FALSE(*store().Put("t", "k", "v3", /*overwrite=*/true));
  EXPECT_EQ(**store().Get("t", "k"), "v3");
}

TEST_P(StoreClientSuite, TablesAreSeparate) {
  ASSERT_TRUE(store().Put("a", "k", "in a", true).ok());
  ASSERT_TRUE(store().Put("b", "k", "in b", true).ok());
  EXPECT_EQ(**store().Get("a", "k"), "in a");
  EXPECT_EQ(**store().Get("b", "k"), "in b");
  EXPECT_FALSE(store().Get("c", "k")->has_value());
  EXPECT_TRUE(*store().Delete("a", "k"));
  EXPECT_FALSE(*store().Exists("a", "k"));
  EXPECT_TRUE(*store().Exists("b", "k"));
}

TEST_P(StoreClientSuite, DeleteReportsWhetherKeyExisted) {
  EXPECT_FALSE(*store().Delete("t", "k"));
  ASSERT_TRUE(store().Put("t", "k", "v", true).ok());
  EXPECT_TRUE(*store().Delete("t", "k"));
  EXPECT_FALSE(*store().Delete("t", "k"));
}

TEST_P(StoreClientSuite, GetAllAndKeysAreSortedAndFilteredByPrefix) {
  for (const char* key : {"b/2", "a", "b/1", "c", "b"}) {
    ASSERT_TRUE(store().Put("t", key, std::string("v") + key, true).ok());
  }
  EXPECT_EQ(*store().GetAll("t"),
            (Rows{{"a", "va"}, {"b", "vb"}, {"b/1", "vb/1"}, {"b/2", "vb/2"}, {"c", "vc"}}));
  EXPECT_EQ(*store().Keys("t", "b/"), (std::vector<std::string>{"b/1", "b/2"}));
  EXPECT_EQ(*store().Keys("t", "b"), (std::vector<std::string>{"b", "b/1", "b/2"}));
  EXPECT_EQ(store().Keys("t", "")->size(), 5u);
  EXPECT_TRUE(store().Keys("t", "z")->empty());
  EXPECT_TRUE(store().GetAll("missing")->empty());
}

TEST_P(StoreClientSuite, BinaryKeysAndValuesRoundTrip) {
  std::string key("k\0\xff", 3);
  std::string value("\0\0v", 3);
  ASSERT_TRUE(store().Put("t", key, value, true).ok());
  EXPECT_EQ(**store().Get("t", key), value);
  EXPECT_EQ(*store().Keys("t", std::string("k\0", 2)), std::vector<std::string>{key});
  // Keys order bytewise (0xff after 'z'), and a prefix ending in 0xff works.
  std::string high("k\xff\xffx", 4);
  ASSERT_TRUE(store().Put("t", "kz", "", true).ok());
  ASSERT_TRUE(store().Put("t", high, "h", true).ok());
  EXPECT_EQ(*store().Keys("t", "k"), (std::vector<std::string>{key, "kz", high}));
  EXPECT_EQ(*store().Keys("t", std::string("k\xff\xff", 3)), std::vector<std::string>{high});
  EXPECT_EQ(**store().Get("t", "kz"), "");
}

TEST_P(StoreClientSuite, WriteBatchPutsThenDeletes) {
  ASSERT_TRUE(store().Put("t", "old", "1", true).ok());
  ASSERT_TRUE(store().Put("other", "a", "keep", true).ok());
  Rows puts;
  for (int i = 0; i < 2500; ++i) puts.emplace_back("k" + std::to_string(10000 + i), "v");
  puts.emplace_back("old", "2");
  ASSERT_TRUE(store().WriteBatch("t", puts, {"k10000", "absent"}).ok());
  EXPECT_EQ(store().Keys("t", "k")->size(), 2499u);
  EXPECT_FALSE(*store().Exists("t", "k10000"));
  EXPECT_EQ(**store().Get("t", "old"), "2");
  EXPECT_EQ(**store().Get("other", "a"), "keep");
  ASSERT_TRUE(store().WriteBatch("t", {}, {}).ok());
}

}  // namespace comet::gcs
