#include "src/comet/raylet/user_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace comet::raylet {
namespace {

rpc::UserMetricFamily Family(const std::string& name, const std::string& type,
                             std::map<std::string, std::string> labels, double value) {
  rpc::UserMetricFamily family;
  family.set_name(name);
  family.set_type(type);
  family.set_help("help of " + name);
  rpc::UserMetricSample* sample = family.add_samples();
  sample->mutable_labels()->insert(labels.begin(), labels.end());
  sample->set_value(value);
  return family;
}

rpc::ReportMetricsRequest Report(const WorkerID& worker,
                                 std::vector<rpc::UserMetricFamily> families) {
  rpc::ReportMetricsRequest request;
  request.set_worker_id(worker.Binary());
  for (auto& family : families) *request.add_families() = std::move(family);
  return request;
}

std::string Render(const UserMetrics& metrics) {
  MetricsText text;
  metrics.Append(&text, {{"node_id", "n1"}});
  return text.text();
}

TEST(UserMetricsTest, EachReportReplacesTheProcesssState) {
  UserMetrics metrics;
  WorkerID worker = WorkerID::FromRandom();
  absl::Time now = absl::FromUnixSeconds(100);
  ASSERT_TRUE(metrics.Report(Report(worker, {Family("jobs_total", "counter", {{"k", "a"}}, 2)}),
                             now)
                  .ok());
  ASSERT_TRUE(metrics.Report(Report(worker, {Family("jobs_total", "counter", {{"k", "a"}}, 5)}),
                             now)
                  .ok());
  std::string out = Render(metrics);
  EXPECT_NE(out.find("# TYPE jobs_total counter\n"), std::string::npos) << out;
  EXPECT_NE(out.find("jobs_total{k=\"a\",node_id=\"n1\",worker_id=\"" + worker.Hex() +
                     "\"} 5\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("} 2\n"), std::string::npos) << out;
}

TEST(UserMetricsTest, OneNameFromSeveralProcessesIsOneFamily) {
  UserMetrics metrics;
  WorkerID a = WorkerID::FromRandom(), b = WorkerID::FromRandom(), c = WorkerID::FromRandom();
  absl::Time now = absl::FromUnixSeconds(100);
  ASSERT_TRUE(metrics.Report(Report(a, {Family("depth", "gauge", {}, 1)}), now).ok());
  ASSERT_TRUE(metrics.Report(Report(b, {Family("depth", "gauge", {}, 2)}), now).ok());
  // Another type under the same name would make the exposition invalid.
  ASSERT_TRUE(metrics.Report(Report(c, {Family("depth", "counter", {}, 3)}), now).ok());
  std::string out = Render(metrics);
  size_t first = out.find("# TYPE depth");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(out.find("# TYPE depth", first + 1), std::string::npos) << out;
  EXPECT_NE(out.find("worker_id=\"" + a.Hex() + "\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("worker_id=\"" + b.Hex() + "\"} 2\n"), std::string::npos) << out;
  EXPECT_EQ(out.find(c.Hex()), std::string::npos) << out;
}

TEST(UserMetricsTest, HistogramsRenderCumulativeBuckets) {
  UserMetrics metrics;
  WorkerID worker = WorkerID::FromRandom();
  rpc::UserMetricFamily family;
  family.set_name("latency_ms");
  family.set_type("histogram");
  family.add_boundaries(1);
  family.add_boundaries(10);
  rpc::UserMetricSample* sample = family.add_samples();
  sample->add_bucket_counts(2);
  sample->add_bucket_counts(3);
  sample->add_bucket_counts(1);
  sample->set_sum(42.5);
  ASSERT_TRUE(metrics.Report(Report(worker, {family}), absl::Now()).ok());
  std::string out = Render(metrics);
  std::string labels = "node_id=\"n1\",worker_id=\"" + worker.Hex() + "\"";
  EXPECT_NE(out.find("latency_ms_bucket{le=\"1\"," + labels + "} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("latency_ms_bucket{le=\"10\"," + labels + "} 5\n"), std::string::npos);
  EXPECT_NE(out.find("latency_ms_bucket{le=\"+Inf\"," + labels + "} 6\n"), std::string::npos);
  EXPECT_NE(out.find("latency_ms_sum{" + labels + "} 42.5\n"), std::string::npos);
  EXPECT_NE(out.find("latency_ms_count{" + labels + "} 6\n"), std::string::npos);
}

TEST(UserMetricsTest, BadReportsAreRefusedWhole) {
  UserMetrics metrics;
  WorkerID worker = WorkerID::FromRandom();
  absl::Time now = absl::Now();
  auto refused = [&](rpc::UserMetricFamily family, const std::string& says) {
    absl::Status status =
        metrics.Report(Report(worker, {Family("fine", "gauge", {}, 1), family}), now);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << says;
    EXPECT_NE(status.message().find(says), std::string::npos) << status;
  };
  refused(Family("9lives", "gauge", {}, 1), "bad metric name");
  refused(Family("x", "summary", {}, 1), "unknown type");
  refused(Family("x", "gauge", {{"worker_id", "w"}}, 1), "reserved label 'worker_id'");
  refused(Family("x", "gauge", {{"bad-label", "w"}}, 1), "bad or reserved label");
  rpc::UserMetricFamily histogram = Family("h", "histogram", {}, 0);
  refused(histogram, "needs boundaries");
  histogram.add_boundaries(5);
  histogram.add_boundaries(1);
  refused(histogram, "ascending");
  histogram.clear_boundaries();
  histogram.add_boundaries(1);
  refused(histogram, "0 bucket counts for 1 boundaries");
  EXPECT_EQ(metrics.num_reporters(), 0u);  // nothing of the refused reports kept
  rpc::ReportMetricsRequest no_id = Report(worker, {});
  no_id.set_worker_id("short");
  EXPECT_FALSE(metrics.Report(no_id, now).ok());
}

TEST(UserMetricsTest, ExitedAndSilentProcessesAreDropped) {
  UserMetrics metrics(absl::Seconds(30));
  WorkerID exited = WorkerID::FromRandom(), silent = WorkerID::FromRandom(),
           live = WorkerID::FromRandom();
  absl::Time t0 = absl::FromUnixSeconds(1000);
  ASSERT_TRUE(metrics.Report(Report(exited, {Family("g", "gauge", {}, 1)}), t0).ok());
  ASSERT_TRUE(metrics.Report(Report(silent, {Family("g", "gauge", {}, 2)}), t0).ok());
  ASSERT_TRUE(
      metrics.Report(Report(live, {Family("g", "gauge", {}, 3)}), t0 + absl::Seconds(20)).ok());
  metrics.Forget(exited);
  metrics.Expire(t0 + absl::Seconds(31));
  EXPECT_EQ(metrics.num_reporters(), 1u);
  std::string out = Render(metrics);
  EXPECT_NE(out.find(live.Hex()), std::string::npos);
  EXPECT_EQ(out.find(silent.Hex()), std::string::npos);
  EXPECT_EQ(out.find(exited.Hex()), std::string::npos);
  metrics.Expire(t0 + absl::Seconds(60));
  EXPECT_EQ(Render(metrics), "");
}

}  // namespace
}  // namespace comet::raylet
