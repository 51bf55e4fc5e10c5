// GrpcNodeProber against real sockets: a port with nothing listening, and a
// listener that accepts connections but never speaks HTTP/2 (a hung raylet).
#include "src/comet/gcs/grpc_node_prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "absl/time/clock.h"

namespace comet::gcs {
namespace {

// A bound TCP socket on 127.0.0.1; listening or not.
class Socket {
 public:
  explicit Socket(bool listening) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listening) listen(fd_, 16);
  }
  ~Socket() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

rpc::NodeInfo Node(const std::string& address, int port) {
  rpc::NodeInfo node;
  node.set_node_id(NodeID::FromRandom().Binary());
  node.set_node_manager_address(address);
  node.set_node_manager_port(port);
  return node;
}

// Runs `io` until `result` is set or a generous deadline passes.
bool RunUntil(boost::asio::io_context& io,
              const std::optional<absl::Status>& result) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!result.has_value() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
  }
  return result.has_value();
}

TEST(GrpcNodeProberTest, TargetOf) {
  EXPECT_EQ(GrpcNodeProber::TargetOf(Node("127.0.0.1", 7000)),
            "127.0.0.1:7000");
  EXPECT_EQ(GrpcNodeProber::TargetOf(Node("::1", 7000)), "[::1]:7000");
  EXPECT_EQ(GrpcNodeProber::TargetOf(Node("[::1]", 7000)), "[::1]:7000");
  EXPECT_EQ(GrpcNodeProber::TargetOf(Node("unix:/tmp/r.sock", 0)),
            "unix:/tmp/r.sock");
}

TEST(GrpcNodeProberTest, NothingListeningFails) {
  Socket closed(/*listening=*/false);
  boost::asio::io_context io;
  GrpcNodeProber prober(io, rpc::ClusterAuth{});
  std::optional<absl::Status> result;
  prober.Probe(Node("127.0.0.1", closed.port()), absl::Seconds(20),
               [&](absl::Status status) { result = status; });
  ASSERT_TRUE(RunUntil(io, result));
  EXPECT_FALSE(result->ok());
}

TEST(GrpcNodeProberTest, HungNodeTimesOut) {
  Socket silent(/*listening=*/true);
  boost::asio::io_context io;
  GrpcNodeProber prober(io, rpc::ClusterAuth{});
  std::optional<absl::Status> result;
  prober.Probe(Node("127.0.0.1", silent.port()), absl::Milliseconds(200),
               [&](absl::Status status) { result = status; });
  ASSERT_TRUE(RunUntil(io, result));
  EXPECT_EQ(result->code(), absl::StatusCode::kDeadlineExceeded) << *result;
}

TEST(GrpcNodeProberTest, ShutdownCancelsProbesInFlight) {
  Socket silent(/*listening=*/true);
  boost::asio::io_context io;
  GrpcNodeProber prober(io, rpc::ClusterAuth{});
  std::optional<absl::Status> result;
  prober.Probe(Node("127.0.0.1", silent.port()), absl::Hours(1),
               [&](absl::Status status) { result = status; });
  prober.Shutdown();  // Returns once the probe is over, not in an hour.
  ASSERT_TRUE(RunUntil(io, result));
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled) << *result;

  std::optional<absl::Status> late;
  prober.Probe(Node("127.0.0.1", silent.port()), absl::Hours(1),
               [&](absl::Status status) { late = status; });
  ASSERT_TRUE(RunUntil(io, late));
  EXPECT_EQ(late->code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace comet::gcs
