#include "src/comet/common/metrics.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace comet {

void Histogram::Record(absl::Duration d) {
  double seconds = absl::ToDoubleSeconds(d);
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(absl::ToInt64Nanoseconds(d), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  int64_t running = 0;
  for (const auto& bucket : buckets_) {
    running += bucket.load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

namespace {

std::string Escape(const std::string& value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

std::string LabelText(const MetricsText::Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    absl::StrAppend(&out, first ? "" : ",", key, "=\"", Escape(value), "\"");
    first = false;
  }
  return out + "}";
}

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  return absl::StrCat(value);
}

}  // namespace

MetricsText& MetricsText::Family(const std::string& name, const std::string& type,
                                 const std::string& help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  return *this;
}

MetricsText& MetricsText::Sample(const std::string& name, const Labels& labels, double value) {
  absl::StrAppend(&text_, name, LabelText(labels), " ", Number(value), "\n");
  return *this;
}

MetricsText& MetricsText::HistogramSamples(const std::string& name, const Labels& labels,
                                           const Histogram& histogram) {
  Histogram::Snapshot s = histogram.Read();
  std::vector<double> bounds(Histogram::kBounds.begin(), Histogram::kBounds.end());
  std::vector<uint64_t> counts;
  int64_t below = 0;
  for (int64_t cumulative : s.cumulative) {
    counts.push_back(static_cast<uint64_t>(cumulative - below));
    below = cumulative;
  }
  return BucketSamples(name, labels, bounds, counts, s.sum_seconds);
}

MetricsText& MetricsText::BucketSamples(const std::string& name, const Labels& labels,
                                        const std::vector<double>& bounds,
                                        const std::vector<uint64_t>& counts, double sum) {
  uint64_t running = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    running += counts[i];
    Labels with_le = labels;
    with_le["le"] = i < bounds.size() ? Number(bounds[i]) : "+Inf";
    Sample(name + "_bucket", with_le, static_cast<double>(running));
  }
  Sample(name + "_sum", labels, sum);
  Sample(name + "_count", labels, static_cast<double>(running));
  return *this;
}

}  // namespace comet
