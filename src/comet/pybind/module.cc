// The comet._raylet extension module: wires the per-area bindings together.
#include <grpc/grpc.h>
#include <pybind11/pybind11.h>

#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
void BindPlasma(py::module_& m);
void BindCoreWorker(py::module_& m);
void BindActors(py::module_& m);
void BindGcsClient(py::module_& m);
void BindStateClient(py::module_& m);
void BindAuth(py::module_& m);
void BindConfig(py::module_& m);
void BindLogSubscriber(py::module_& m);
void BindWorkerSetup(py::module_& m);
void BindMetrics(py::module_& m);
}  // namespace comet::pybind

PYBIND11_MODULE(_raylet, m) {
  m.doc() = "Comet's C++ core, bound for Python.";
  m.attr("__version__") = "0.1.0";
  // gRPC stays initialised for the life of the process. Otherwise, once a
  // driver's last channel and server are gone (shutdown(), a StateClient
  // dropped), gRPC shuts itself down on a background thread, which races
  // with its callback-queue thread (seen as a crash in
  // grpc_completion_queue_next with gRPC 1.51), and init() after shutdown()
  // starts it all again.
  grpc_init();
  comet::pybind::RegisterExceptions(m);
  comet::pybind::BindPlasma(m);
  comet::pybind::BindCoreWorker(m);
  comet::pybind::BindActors(m);
  comet::pybind::BindGcsClient(m);
  comet::pybind::BindStateClient(m);
  comet::pybind::BindAuth(m);
  comet::pybind::BindConfig(m);
  comet::pybind::BindLogSubscriber(m);
  comet::pybind::BindWorkerSetup(m);
  comet::pybind::BindMetrics(m);
}
