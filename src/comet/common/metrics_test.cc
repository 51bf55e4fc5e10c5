#include "src/comet/common/metrics.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "src/comet/common/metrics_server.h"

namespace comet {
namespace {

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Histogram h;
  h.Record(absl::Microseconds(50));   // first bucket
  h.Record(absl::Milliseconds(3));    // le=0.005
  h.Record(absl::Seconds(10));        // +Inf only
  Histogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.cumulative.front(), 1);
  EXPECT_EQ(s.cumulative[5], 2);  // bound 0.005
  EXPECT_EQ(s.cumulative.back(), 3);
  EXPECT_NEAR(s.sum_seconds, 10.00305, 1e-6);
}

TEST(MetricsTest, RendersExpositionFormat) {
  Histogram h;
  h.Record(absl::Milliseconds(1));
  MetricsText text;
  text.Family("comet_x", "gauge", "An x.").Sample("comet_x", {{"node_id", "ab\"c"}}, 2.5);
  text.Family("comet_lat_seconds", "histogram", "Latency.")
      .HistogramSamples("comet_lat_seconds", {}, h);
  const std::string& out = text.text();
  EXPECT_NE(out.find("# TYPE comet_x gauge\ncomet_x{node_id=\"ab\\\"c\"} 2.5\n"), std::string::npos);
  EXPECT_NE(out.find("comet_lat_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("comet_lat_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("comet_lat_seconds_count 1\n"), std::string::npos);
}

MetricsServer::Options Local(std::string token = "", std::string cert_pem = "",
                             std::string key_pem = "") {
  MetricsServer::Options options;
  options.host = "127.0.0.1";
  options.token = std::move(token);
  options.cert_pem = std::move(cert_pem);
  options.key_pem = std::move(key_pem);
  return options;
}

std::string Fetch(int port, const std::string& request) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  boost::asio::write(socket, boost::asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  char buf[4096];
  while (size_t n = socket.read_some(boost::asio::buffer(buf), ec)) response.append(buf, n);
  return response;
}

TEST(MetricsTest, ServerAnswersMetricsAndRejectsOtherPaths) {
  boost::asio::io_context io;
  auto server = MetricsServer::Start(io, Local(),
                                     [] { return std::string("comet_up 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  std::thread thread([&] { io.run(); });
  std::string ok = Fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ok.find("200 OK"), std::string::npos);
  EXPECT_NE(ok.find("\r\n\r\ncomet_up 1\n"), std::string::npos);
  EXPECT_NE(Fetch(port, "GET /other HTTP/1.1\r\n\r\n").find("404"), std::string::npos);
  boost::asio::post(io, [&] { (*server)->Stop(); });
  io.stop();
  thread.join();
}

TEST(MetricsTest, ServerWithATokenAnswersOnlyScrapesThatCarryIt) {
  boost::asio::io_context io;
  auto server = MetricsServer::Start(io, Local("secret-token-0123"),
                                     [] { return std::string("comet_up 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  std::thread thread([&] { io.run(); });
  std::string none = Fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(none.find("401 Unauthorized"), std::string::npos);
  EXPECT_EQ(none.find("comet_up"), std::string::npos);
  std::string wrong =
      Fetch(port, "GET /metrics HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n");
  EXPECT_NE(wrong.find("401"), std::string::npos);
  std::string ok = Fetch(
      port, "GET /metrics HTTP/1.1\r\nHost: x\r\nauthorization: Bearer secret-token-0123\r\n\r\n");
  EXPECT_NE(ok.find("200 OK"), std::string::npos);
  EXPECT_NE(ok.find("comet_up 1"), std::string::npos);
  boost::asio::post(io, [&] { (*server)->Stop(); });
  io.stop();
  thread.join();
}

TEST(MetricsTest, TlsNeedsAUsableCertificateAndKey) {
  boost::asio::io_context io;
  auto render = [] { return std::string(); };
  auto half = MetricsServer::Start(io, Local("", "x"), render);
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument);
  auto garbage =
      MetricsServer::Start(io, Local("", "x", "y"), render);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("TLS certificate"), std::string::npos);
}

}  // namespace
}  // namespace comet
