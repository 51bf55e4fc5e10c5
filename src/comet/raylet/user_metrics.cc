#include "src/comet/raylet/user_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace comet::raylet {
namespace {

bool ValidName(const std::string& name, bool colons) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = absl::ascii_isalpha(c) || c == '_' || (colons && c == ':') ||
              (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// Labels the raylet adds or the format uses: a client may not set them.
bool Reserved(const std::string& label) {
  return label == "node_id" || label == "worker_id" || label == "le" ||
         absl::StartsWith(label, "__");
}

absl::Status Check(const rpc::UserMetricFamily& family) {
  if (!ValidName(family.name(), /*colons=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("bad metric name '", family.name(), "'"));
  }
  const std::string& type = family.type();
  if (type != "counter" && type != "gauge" && type != "histogram") {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", family.name(), ": unknown type '", type, "'"));
  }
  double previous = -std::numeric_limits<double>::infinity();
  for (double bound : family.boundaries()) {
    if (!(bound > previous) || std::isinf(bound)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", family.name(), ": histogram boundaries must be finite and ascending"));
    }
    previous = bound;
  }
  if (type == "histogram" && family.boundaries().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", family.name(), ": a histogram needs boundaries"));
  }
  for (const rpc::UserMetricSample& sample : family.samples()) {
    for (const auto& [label, value] : sample.labels()) {
      if (!ValidName(label, /*colons=*/false) || Reserved(label)) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", family.name(), ": bad or reserved label '", label, "'"));
      }
    }
    if (type == "histogram" &&
        sample.bucket_counts_size() != family.boundaries_size() + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", family.name(), ": ", sample.bucket_counts_size(), " bucket counts for ",
          family.boundaries_size(), " boundaries (want one more, for +Inf)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UserMetrics::Report(const rpc::ReportMetricsRequest& request, absl::Time now) {
  absl::StatusOr<WorkerID> worker_id = WorkerID::FromBinary(request.worker_id());
  if (!worker_id.ok()) return absl::InvalidArgumentError("metrics report: bad worker id");
  for (const rpc::UserMetricFamily& family : request.families()) {
    if (absl::Status status = Check(family); !status.ok()) return status;
  }
  Reporter& reporter = reporters_[*worker_id];
  if (reporter.first_report == 0) reporter.first_report = ++reports_;
  reporter.families.assign(request.families().begin(), request.families().end());
  reporter.at = now;
  return absl::OkStatus();
}

void UserMetrics::Forget(const WorkerID& worker_id) { reporters_.erase(worker_id); }

void UserMetrics::Expire(absl::Time now) {
  for (auto it = reporters_.begin(); it != reporters_.end();) {
    it = now - it->second.at > ttl_ ? reporters_.erase(it) : std::next(it);
  }
}

void UserMetrics::Append(MetricsText* text, const MetricsText::Labels& node) const {
  // name -> (first family seen: its type, help and boundaries; every
  // reporter's family of that name and type).
  struct Group {
    const rpc::UserMetricFamily* first = nullptr;
    std::vector<std::pair<const WorkerID*, const rpc::UserMetricFamily*>> members;
  };
  std::map<std::string, Group> groups;
  // The first process to report a name sets its type (not the smallest id).
  std::vector<std::pair<const WorkerID*, const Reporter*>> by_age;
  for (const auto& [worker_id, reporter] : reporters_) by_age.emplace_back(&worker_id, &reporter);
  std::sort(by_age.begin(), by_age.end(), [](const auto& x, const auto& y) {
    return x.second->first_report < y.second->first_report;
  });
  for (const auto& [worker_id, reporter] : by_age) {
    for (const rpc::UserMetricFamily& family : reporter->families) {
      Group& group = groups[family.name()];
      if (group.first == nullptr) group.first = &family;
      if (family.type() != group.first->type()) continue;
      if (family.type() == "histogram" &&
          !std::equal(family.boundaries().begin(), family.boundaries().end(),
                      group.first->boundaries().begin(), group.first->boundaries().end())) {
        continue;
      }
      group.members.emplace_back(worker_id, &family);
    }
  }
  for (const auto& [name, group] : groups) {
    text->Family(name, group.first->type(), group.first->help());
    for (const auto& [worker_id, family] : group.members) {
      for (const rpc::UserMetricSample& sample : family->samples()) {
        MetricsText::Labels labels(sample.labels().begin(), sample.labels().end());
        labels.insert(node.begin(), node.end());
        labels["worker_id"] = worker_id->Hex();
        if (family->type() != "histogram") {
          text->Sample(name, labels, sample.value());
          continue;
        }
        std::vector<double> bounds(family->boundaries().begin(), family->boundaries().end());
        std::vector<uint64_t> counts(sample.bucket_counts().begin(),
                                     sample.bucket_counts().end());
        text->BucketSamples(name, labels, bounds, counts, sample.sum());
      }
    }
  }
}

}  // namespace comet::raylet
