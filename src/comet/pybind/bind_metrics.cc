// Python binding of application metrics (comet.util.metrics): the core
// worker's report of this process's metrics to its raylet, a method of
// comet._raylet.CoreWorker. The call blocks with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "src/comet/pybind/core_worker_args.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

using core::CoreWorker;

// (labels, value, bucket counts, sum) of one series.
using Sample = std::tuple<std::map<std::string, std::string>, double, std::vector<uint64_t>,
                          double>;
// (name, type, help, boundaries, samples) of one family.
using Family = std::tuple<std::string, std::string, std::string, std::vector<double>,
                          std::vector<Sample>>;

void ReportMetrics(CoreWorker& worker, const std::vector<Family>& families) {
  rpc::ReportMetricsRequest request;
  for (const auto& [name, type, help, boundaries, samples] : families) {
    rpc::UserMetricFamily* family = request.add_families();
    family->set_name(name);
    family->set_type(type);
    family->set_help(help);
    family->mutable_boundaries()->Add(boundaries.begin(), boundaries.end());
    for (const auto& [labels, value, buckets, sum] : samples) {
      rpc::UserMetricSample* sample = family->add_samples();
      sample->mutable_labels()->insert(labels.begin(), labels.end());
      sample->set_value(value);
      sample->mutable_bucket_counts()->Add(buckets.begin(), buckets.end());
      sample->set_sum(sum);
    }
  }
  absl::Status status;
  {
    py::gil_scoped_release release;
    status = worker.ReportMetrics(std::move(request));
  }
  ThrowIfError(status);
}

}  // namespace

void BindMetrics(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<CoreWorker, WorkerPtr>>(m.attr("CoreWorker"));
  cls.def("report_metrics", &ReportMetrics, py::arg("families"),
          "Sends this process's application metrics, [(name, type, help, boundaries, "
          "[(labels, value, bucket_counts, sum)])], to the local raylet's /metrics.");
}

}  // namespace comet::pybind
