// Python binding comet._raylet.report_runtime_env_setup_failure: a worker
// that could not set up its runtime_env (worker_main, before it has a core
// worker) tells its raylet so, instead of registering; the raylet fails the
// leases waiting for that env with `error` (RuntimeEnvSetupError).
#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <string>

#include "proto/node_manager.grpc.pb.h"
#include "src/comet/pybind/blocking_call.h"
#include "src/comet/pybind/process_auth.h"
#include "src/comet/rpc/client_pool.h"

namespace py = pybind11;

namespace comet::pybind {

void BindWorkerSetup(py::module_& m) {
  m.def(
      "report_runtime_env_setup_failure",
      [](const std::string& raylet_address, const py::bytes& worker_id,
         const std::string& error) {
        auto stub = rpc::NodeManagerService::NewStub(
            rpc::MakeChannel(raylet_address, ProcessAuth()));
        rpc::RegisterWorkerRequest request;
        request.set_worker_id(worker_id);
        request.set_pid(static_cast<int32_t>(getpid()));
        request.set_runtime_env_setup_error(error.empty() ? "runtime_env setup failed" : error);
        InvokeBlocking<rpc::RegisterWorkerReply>(
            "RegisterWorker",
            [&](auto* context, auto* reply) {
              return stub->RegisterWorker(context, request, reply);
            },
            kBlockingCallTimeout, "the raylet");
      },
      py::arg("raylet_address"), py::arg("worker_id"), py::arg("error"),
      "Tells the raylet this worker could not set up its runtime_env.");
}

}  // namespace comet::pybind
