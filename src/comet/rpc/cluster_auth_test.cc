#include "src/comet/rpc/cluster_auth.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace comet::rpc {
namespace {

// Each test gets its own HOME and a clean COMET_AUTH_* environment.
class ClusterAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cluster_auth_test.XXXXXX";
    home_ = mkdtemp(tmpl);
    setenv("HOME", home_.c_str(), 1);
    for (const char* name : {"COMET_AUTH_TOKEN", "COMET_AUTH_TOKEN_PATH", "COMET_AUTH_MODE",
                             "COMET_TLS_CA", "COMET_TLS_CERT", "COMET_TLS_KEY"}) {
      unsetenv(name);
    }
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  void Write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
  }
  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    EXPECT_EQ(stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::string home_;
};

TEST_F(ClusterAuthTest, NoTokenAnywhereIsNotFoundAndNamesThePlaces) {
  auto auth = LoadClusterAuth();
  ASSERT_EQ(auth.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(auth.status().message().find("COMET_AUTH_TOKEN"), std::string::npos);
  EXPECT_NE(auth.status().message().find(home_ + "/.comet/auth_token"), std::string::npos);
}

TEST_F(ClusterAuthTest, CreatesA256BitTokenPrivately) {
  auto auth = LoadClusterAuth({.create_if_missing = true});
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->mode, AuthMode::kToken);
  EXPECT_EQ(auth->token.size(), 2u * kTokenBytes);
  EXPECT_EQ(auth->source, home_ + "/.comet/auth_token");
  EXPECT_EQ(ModeOf(home_ + "/.comet"), 0700u);
  EXPECT_EQ(ModeOf(home_ + "/.comet/auth_token"), 0600u);
  // The next process reads the same token.
  auto again = LoadClusterAuth();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->token, auth->token);
  auto other = LoadClusterAuth({.create_if_missing = true});
  EXPECT_EQ(other->token, auth->token);
}

TEST_F(ClusterAuthTest, LookupOrderIsValueThenPathThenHome) {
  mkdir((home_ + "/.comet").c_str(), 0700);
  Write(home_ + "/.comet/auth_token", "home-token-0123456789\n", 0600);
  Write(home_ + "/other", "path-token-0123456789", 0600);
  EXPECT_EQ(LoadClusterAuth()->token, "home-token-0123456789");
  setenv("COMET_AUTH_TOKEN_PATH", (home_ + "/other").c_str(), 1);
  EXPECT_EQ(LoadClusterAuth()->token, "path-token-0123456789");
  EXPECT_EQ(LoadClusterAuth()->source, "COMET_AUTH_TOKEN_PATH=" + home_ + "/other");
  setenv("COMET_AUTH_TOKEN", "value-token-0123456789", 1);
  EXPECT_EQ(LoadClusterAuth()->token, "value-token-0123456789");
  EXPECT_EQ(LoadClusterAuth()->source, "COMET_AUTH_TOKEN");
}

TEST_F(ClusterAuthTest, TokenFileReadableByOthersIsRefused) {
  Write(home_ + "/open", "open-token-0123456789", 0644);
  setenv("COMET_AUTH_TOKEN_PATH", (home_ + "/open").c_str(), 1);
  auto auth = LoadClusterAuth({.create_if_missing = true});
  ASSERT_EQ(auth.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(auth.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(ClusterAuthTest, BadTokensAndModesAreRefused) {
  setenv("COMET_AUTH_TOKEN", "short", 1);
  EXPECT_EQ(LoadClusterAuth().status().code(), absl::StatusCode::kInvalidArgument);
  setenv("COMET_AUTH_TOKEN", "has a space 0123456789", 1);
  EXPECT_EQ(LoadClusterAuth().status().code(), absl::StatusCode::kInvalidArgument);
  setenv("COMET_AUTH_MODE", "maybe", 1);
  EXPECT_EQ(LoadClusterAuth().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClusterAuthTest, DisabledModeNeedsNoToken) {
  setenv("COMET_AUTH_MODE", "disabled", 1);
  auto auth = LoadClusterAuth();
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE(auth->token_required());
}

TEST_F(ClusterAuthTest, TlsNeedsAllThreeFiles) {
  setenv("COMET_AUTH_TOKEN", "value-token-0123456789", 1);
  setenv("COMET_TLS_CA", "/nonexistent/ca.pem", 1);
  EXPECT_EQ(LoadClusterAuth().status().code(), absl::StatusCode::kInvalidArgument);
  setenv("COMET_TLS_CERT", "/nonexistent/cert.pem", 1);
  setenv("COMET_TLS_KEY", "/nonexistent/key.pem", 1);
  EXPECT_EQ(LoadClusterAuth().status().code(), absl::StatusCode::kNotFound);
}

TEST(LoopbackHost, Recognized) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace comet::rpc
