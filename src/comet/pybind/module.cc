// The comet._raylet extension module: wires the per-area bindings together.
#include <pybind11/pybind11.h>

#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
void BindPlasma(py::module_& m);
void BindCoreWorker(py::module_& m);
void BindActors(py::module_& m);
void BindGcsClient(py::module_& m);
void BindStateClient(py::module_& m);
}  // namespace comet::pybind

PYBIND11_MODULE(_raylet, m) {
  m.doc() = "Comet's C++ core, bound for Python.";
  m.attr("__version__") = "0.1.0";
  comet::pybind::RegisterExceptions(m);
  comet::pybind::BindPlasma(m);
  comet::pybind::BindCoreWorker(m);
  comet::pybind::BindActors(m);
  comet::pybind::BindGcsClient(m);
  comet::pybind::BindStateClient(m);
}
