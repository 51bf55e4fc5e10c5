// Runs the StoreClient suite against a real redis-server that this test
// starts on a free port (and stops).
#include "src/comet/gcs/redis_store_client.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "src/comet/gcs/store_client_test_suite.h"

namespace comet::gcs {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One redis-server for the whole binary.
class RedisServer : public ::testing::Environment {
 public:
  static int port() { return port_; }

  void SetUp() override {
    port_ = FreePort();
    std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--requirepass", "s3cret", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (RedisStoreClient::Connect("127.0.0.1", port_, "s3cret").ok()) return;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "redis-server did not start on port " << port_
           << " (./build.sh installs Debian's redis-server)";
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  static inline int port_ = 0;
  pid_t pid_ = -1;
};

const auto* const kServer = ::testing::AddGlobalTestEnvironment(new RedisServer);

std::unique_ptr<StoreClient> FreshStore() {
  static int next = 0;
  auto store = RedisStoreClient::Connect("127.0.0.1", RedisServer::port(), "s3cret",
                                         absl::StrCat("test", next++, ":"));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::unique_ptr<StoreClient>(std::move(*store)) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Redis, StoreClientSuite, ::testing::Values(StoreFactory(FreshStore)));

TEST(RedisStoreClientTest, TablesOutliveTheClient) {
  {
    auto store = RedisStoreClient::Connect("127.0.0.1", RedisServer::port(), "s3cret", "keep:");
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put("jobs", "j1", "running", true).ok());
  }
  auto again = RedisStoreClient::Connect("127.0.0.1", RedisServer::port(), "s3cret", "keep:");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*(*again)->GetAll("jobs"), (Rows{{"j1", "running"}}));
}

TEST(RedisStoreClientTest, WrongPasswordAndNoServerAreClearErrors) {
  auto wrong = RedisStoreClient::Connect("127.0.0.1", RedisServer::port(), "nope");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("AUTH"), std::string::npos) << wrong.status();
  auto none = RedisStoreClient::Connect("127.0.0.1", FreePort(), "");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("cannot connect"), std::string::npos) << none.status();
}

}  // namespace
}  // namespace comet::gcs
