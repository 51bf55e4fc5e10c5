#include "src/comet/gcs/in_memory_store_client.h"

#include <gtest/gtest.h>

#include <string>

namespace comet::gcs {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

TEST(InMemoryStoreClientTest, PutReportsAddedAndHonoursOverwrite) {
  InMemoryStoreClient store;
  EXPECT_TRUE(*store.Put("t", "k", "v1", /*overwrite=*/false));
  EXPECT_FALSE(*store.Put("t", "k", "v2", /*overwrite=*/false));
  EXPECT_EQ(**store.Get("t", "k"), "v1");
  EXPECT_FALSE(*store.Put("t", "k", "v3", /*overwrite=*/true));
  EXPECT_EQ(**store.Get("t", "k"), "v3");
}

TEST(InMemoryStoreClientTest, TablesAreSeparate) {
  InMemoryStoreClient store;
  ASSERT_TRUE(store.Put("a", "k", "in a", true).ok());
  ASSERT_TRUE(store.Put("b", "k", "in b", true).ok());
  EXPECT_EQ(**store.Get("a", "k"), "in a");
  EXPECT_EQ(**store.Get("b", "k"), "in b");
  EXPECT_FALSE(store.Get("c", "k")->has_value());
  EXPECT_TRUE(*store.Delete("a", "k"));
  EXPECT_FALSE(*store.Exists("a", "k"));
  EXPECT_TRUE(*store.Exists("b", "k"));
}

TEST(InMemoryStoreClientTest, DeleteReportsWhetherKeyExisted) {
  InMemoryStoreClient store;
  EXPECT_FALSE(*store.Delete("t", "k"));
  ASSERT_TRUE(store.Put("t", "k", "v", true).ok());
  EXPECT_TRUE(*store.Delete("t", "k"));
  EXPECT_FALSE(*store.Delete("t", "k"));
}

TEST(InMemoryStoreClientTest, GetAllAndKeysAreSortedAndFilteredByPrefix) {
  InMemoryStoreClient store;
  for (const char* key : {"b/2", "a", "b/1", "c", "b"}) {
    ASSERT_TRUE(store.Put("t", key, std::string("v") + key, true).ok());
  }
  EXPECT_EQ(*store.GetAll("t"), (Rows{{"a", "va"},
                                      {"b", "vb"},
                                      {"b/1", "vb/1"},
                                      {"b/2", "vb/2"},
                                      {"c", "vc"}}));
  EXPECT_EQ(*store.Keys("t", "b/"), (std::vector<std::string>{"b/1", "b/2"}));
  EXPECT_EQ(*store.Keys("t", "b"),
            (std::vector<std::string>{"b", "b/1", "b/2"}));
  EXPECT_EQ(store.Keys("t", "")->size(), 5u);
  EXPECT_TRUE(store.Keys("t", "z")->empty());
  EXPECT_TRUE(store.GetAll("missing")->empty());
}

TEST(InMemoryStoreClientTest, BinaryKeysAndValuesRoundTrip) {
  InMemoryStoreClient store;
  std::string key("k\0\xff", 3);
  std::string value("\0\0v", 3);
  ASSERT_TRUE(store.Put("t", key, value, true).ok());
  EXPECT_EQ(**store.Get("t", key), value);
  EXPECT_EQ(*store.Keys("t", std::string("k\0", 2)),
            std::vector<std::string>{key});
}

}  // namespace
}  // namespace comet::gcs
