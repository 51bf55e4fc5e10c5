// Python binding comet._raylet.LogSubscriber: a driver's reader of its job's
// workers' output on the GCS's LOG_CHANNEL (published by each node's raylet,
// see src/comet/raylet/log_monitor.h). poll() long-polls without the GIL and
// returns the new lines; interrupt(), from any thread, makes the waiting
// (or next) poll return None at once, and cancel() every later one too. The sequence is tracked here: each poll starts where the
// last one ended, and construction fixes "from now" so that nothing
// published after it is missed.
#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/gcs_service.grpc.pb.h"
#include "src/comet/pybind/blocking_call.h"
#include "src/comet/pybind/process_auth.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

py::str Decode(const std::string& text) {
  PyObject* decoded = PyUnicode_DecodeUTF8(text.data(),
                                           static_cast<Py_ssize_t>(text.size()), "replace");
  if (decoded == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(decoded);
}

class LogSubscriber {
 public:
  LogSubscriber(const std::string& gcs_address, const py::bytes& job_id)
      : job_id_(job_id), gcs_(BindingGcsClient(gcs_address)) {
    rpc::PollRequest request = Request(/*after=*/-1, /*timeout_ms=*/0);
    auto reply = InvokeBlocking<rpc::PollReply>(
        *gcs_, "Poll", [&](auto* context, auto* reply) {
          return gcs_->pubsub().Poll(context, request, reply);
        });
    after_ = reply.latest_sequence();
  }

  // [(ip, pid, name, is_actor, is_err, [line, ...]), ...] published since
  // the last poll, waiting up to timeout_s for some; None when interrupted
  // or cancelled.
  py::object Poll(double timeout_s) {
    rpc::PollRequest request =
        Request(after_, absl::ToInt64Milliseconds(absl::Seconds(std::max(0.0, timeout_s))));
    rpc::PollReply reply;
    grpc::Status status;
    {
      py::gil_scoped_release release;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(timeout_s) +
                                              kBlockingCallTimeout));
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_ || std::exchange(interrupted_, false)) return py::none();
        context_ = &context;
      }
      status = gcs_->pubsub().Poll(&context, request, &reply);
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      // An interrupted poll's reply is dropped; the next poll asks again.
      if (cancelled_ || std::exchange(interrupted_, false)) return py::none();
    }
    if (!status.ok()) ThrowRpcError(status, "Poll");
    // A reply below where we were: a new GCS, whose whole ring is new to us.
    after_ = reply.latest_sequence() < after_ ? 0 : reply.latest_sequence();
    py::list out;
    for (const rpc::PubMessage& message : reply.messages()) {
      for (const rpc::WorkerLogLines& chunk : message.log_batch().chunks()) {
        py::list lines;
        for (const std::string& line : chunk.lines()) lines.append(Decode(line));
        out.append(py::make_tuple(chunk.ip(), chunk.pid(), Decode(chunk.name()),
                                  chunk.is_actor(), chunk.is_err(), lines));
      }
    }
    return out;
  }

  // The waiting poll, or the next one if none waits, returns None now.
  void Interrupt() {
    absl::MutexLock lock(&mu_);
    interrupted_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }

  // Like Interrupt(), for every later poll too.
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }

 private:
  rpc::PollRequest Request(int64_t after, int64_t timeout_ms) const {
    rpc::PollRequest request;
    request.add_channels(rpc::LOG_CHANNEL);
    request.add_keys(job_id_);
    request.set_after_sequence(after);
    request.set_timeout_ms(timeout_ms);
    return request;
  }

  const std::string job_id_;
  std::unique_ptr<gcs_client::GcsRpcClient> gcs_;
  int64_t after_ = 0;  // only the polling thread touches it
  absl::Mutex mu_;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

void BindLogSubscriber(py::module_& m) {
  py::class_<LogSubscriber>(m, "LogSubscriber",
                            "A driver's reader of its job's workers' output lines.")
      .def(py::init<const std::string&, const py::bytes&>(), py::arg("gcs_address"),
           py::arg("job_id"))
      .def("poll", &LogSubscriber::Poll, py::arg("timeout_s"),
           "[(ip, pid, name, is_actor, is_err, lines)] published since the last poll, "
           "waiting up to timeout_s for some; None when interrupted or cancelled.")
      .def("interrupt", &LogSubscriber::Interrupt,
           "The waiting (or next) poll returns None now (any thread).")
      .def("cancel", &LogSubscriber::Cancel,
           "Every poll, the waiting one included, returns None from now on (any thread).");
}

}  // namespace comet::pybind
