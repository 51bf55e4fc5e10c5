// The comet._raylet extension module: wires the per-area bindings together.
#include <pybind11/pybind11.h>

namespace py = pybind11;

PYBIND11_MODULE(_raylet, m) {
  m.doc() = "Comet's C++ core, bound for Python.";
  m.attr("__version__") = "0.1.0";
}
