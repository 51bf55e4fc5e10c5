// Prometheus text-format metrics, written by hand: a latency Histogram that
// any thread may record into (atomic counters), and a MetricsText builder
// that renders families in the exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace comet {

class Histogram {
 public:
  // Upper bounds in seconds; +Inf is implied.
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  void Record(absl::Duration d);

  struct Snapshot {
    std::vector<int64_t> cumulative;  // One per bound, then +Inf.
    int64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot Read() const;

 private:
  std::array<std::atomic<int64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_ns_{0};
};

class MetricsText {
 public:
  using Labels = std::map<std::string, std::string>;

  // Starts a family (# HELP and # TYPE lines).
  MetricsText& Family(const std::string& name, const std::string& type, const std::string& help);
  MetricsText& Sample(const std::string& name, const Labels& labels, double value);
  MetricsText& HistogramSamples(const std::string& name, const Labels& labels,
                                const Histogram& histogram);
  // A histogram's _bucket, _sum and _count samples from per-bucket counts
  // (not cumulative): one per bound, then the +Inf bucket.
  MetricsText& BucketSamples(const std::string& name, const Labels& labels,
                             const std::vector<double>& bounds,
                             const std::vector<uint64_t>& counts, double sum);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace comet
