#include "src/comet/pybind/status_to_python.h"

#include <string>

namespace py = pybind11;

namespace comet::pybind {
namespace {

// Exception types live for the life of the interpreter (module attributes).
PyObject* g_plasma_error = nullptr;
PyObject* g_object_exists = nullptr;
PyObject* g_object_not_found = nullptr;
PyObject* g_store_full = nullptr;

PyObject* NewException(py::module_& m, const char* name, PyObject* base, const char* doc) {
  std::string qualified = std::string("comet._raylet.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

}  // namespace

void RegisterExceptions(py::module_& m) {
  g_plasma_error = NewException(m, "PlasmaError", PyExc_RuntimeError,
                                "An operation on the plasma object store failed.");
  g_object_exists = NewException(m, "PlasmaObjectExists", g_plasma_error,
                                 "An object with this id already exists in the store.");
  g_object_not_found = NewException(m, "PlasmaObjectNotFound", g_plasma_error,
                                    "No object with this id is in the store.");
  // Also Ray's ObjectStoreFullError, which is what `except` clauses name.
  py::object store_full = py::module_::import("comet.exceptions").attr("ObjectStoreFullError");
  py::tuple bases = py::make_tuple(py::handle(g_plasma_error), store_full);
  g_store_full = NewException(m, "PlasmaStoreFull", bases.ptr(),
                              "The object does not fit in the store, even after eviction "
                              "and fallback allocation (a comet.exceptions."
                              "ObjectStoreFullError).");
}

void ThrowIfError(const absl::Status& status) {
  if (status.ok()) return;
  std::string message(status.message());
  PyObject* type = g_plasma_error;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated: {
      py::object error = py::module_::import("comet.exceptions").attr("AuthenticationError");
      PyErr_SetString(error.ptr(), message.c_str());
      throw py::error_already_set();
    }
    case absl::StatusCode::kInvalidArgument:
      throw py::value_error(message);
    case absl::StatusCode::kUnavailable:
      PyErr_SetString(PyExc_ConnectionError, message.c_str());
      throw py::error_already_set();
    case absl::StatusCode::kAlreadyExists:
      type = g_object_exists;
      break;
    case absl::StatusCode::kNotFound:
      type = g_object_not_found;
      break;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
      type = g_store_full;
      break;
    default:
      break;
  }
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

}  // namespace comet::pybind
