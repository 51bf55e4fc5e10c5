#include "src/comet/gcs/sqlite_store_client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "src/comet/gcs/store_client_test_suite.h"

namespace comet::gcs {
namespace {

// A fresh folder under the test's temp dir.
std::string TempDir() {
  std::string pattern = std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
                        "/sqlite_store_XXXXXX";
  char* made = mkdtemp(pattern.data());
  return made == nullptr ? "" : std::string(made);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreClientSuite, ::testing::Values(StoreFactory([] {
                           auto store = SqliteStoreClient::Open(TempDir() + "/gcs.db");
                           EXPECT_TRUE(store.ok()) << store.status();
                           return store.ok() ? std::unique_ptr<StoreClient>(std::move(*store))
                                             : nullptr;
                         })));

TEST(SqliteStoreClientTest, TablesSurviveReopening) {
  std::string path = TempDir() + "/gcs.db";
  {
    auto store = SqliteStoreClient::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put("nodes", "n1", "alive", true).ok());
    ASSERT_TRUE((*store)->Put("nodes", "n2", "dead", true).ok());
    ASSERT_TRUE(*(*store)->Delete("nodes", "n2"));
  }
  auto again = SqliteStoreClient::Open(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*(*again)->GetAll("nodes"), (Rows{{"n1", "alive"}}));
}

TEST(SqliteStoreClientTest, FileIsPrivate) {
  std::string path = TempDir() + "/gcs.db";
  auto store = SqliteStoreClient::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Put("t", "k", "v", true).ok());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(SqliteStoreClientTest, SecondUserOfOneFileIsRefused) {
  std::string path = TempDir() + "/gcs.db";
  auto first = SqliteStoreClient::Open(path);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = SqliteStoreClient::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(path), std::string::npos) << second.status();
}

TEST(SqliteStoreClientTest, MissingFolderIsAClearError) {
  auto store = SqliteStoreClient::Open("/nonexistent/folder/gcs.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent/folder/gcs.db"), std::string::npos);
}

}  // namespace
}  // namespace comet::gcs
