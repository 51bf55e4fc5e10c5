#include "src/comet/pybind/status_to_python.h"

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "src/comet/rpc/grpc_auth.h"

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

void ThrowIfError(const absl::Status& status, ErrorDomain domain) {
  if (status.ok()) return;
  std::string message(status.message());
  const bool plasma = domain == ErrorDomain::kPlasma;
  PyObject* type = plasma ? g_plasma_error : PyExc_RuntimeError;
  py::object keep_alive;
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      keep_alive = py::module_::import("comet.exceptions").attr("AuthenticationError");
      type = keep_alive.ptr();
      break;
    case absl::StatusCode::kInvalidArgument:
      type = PyExc_ValueError;
      break;
    case absl::StatusCode::kNotFound:
      type = plasma ? g_object_not_found : PyExc_ValueError;
      break;
    case absl::StatusCode::kAlreadyExists:
      type = plasma ? g_object_exists : PyExc_ValueError;
      break;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
      if (plasma) type = g_store_full;
      break;
    case absl::StatusCode::kUnavailable:
      type = PyExc_ConnectionError;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      type = PyExc_TimeoutError;
      break;
    default:
      break;
  }
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

void ThrowRpcError(const grpc::Status& status, absl::string_view what, absl::string_view peer) {
  std::string detail = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    auto auth = rpc::LoadClusterAuth();
    if (auth.ok()) detail = rpc::RefusedTokenMessage(detail, *auth);
  }
  // gRPC's codes are absl's, number for number.
  ThrowIfError(absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                            absl::StrCat(what, " to ", peer, " failed: ", detail)));
  throw std::logic_error("ThrowIfError returned for an error");  // not reached
}

}  // namespace comet::pybind
