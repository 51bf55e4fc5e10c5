// Maps absl::Status (and gRPC status) to Python exceptions: the one place
// where C++ errors turn into exceptions. Registered once per module by
// RegisterExceptions(). The table, by status code:
//
//   UNAUTHENTICATED       comet.exceptions.AuthenticationError
//   INVALID_ARGUMENT      ValueError
//   NOT_FOUND             ValueError          (plasma: PlasmaObjectNotFound)
//   ALREADY_EXISTS        ValueError          (plasma: PlasmaObjectExists)
//   RESOURCE_EXHAUSTED,   RuntimeError        (plasma: PlasmaStoreFull, also a
//   OUT_OF_RANGE                               comet.exceptions.ObjectStoreFullError)
//   UNAVAILABLE           ConnectionError
//   DEADLINE_EXCEEDED     TimeoutError
//   anything else         RuntimeError        (plasma: PlasmaError, a RuntimeError)
//
// Errors of tasks and objects (a crashed worker, a lost object) are values,
// not statuses: comet._private.worker maps their kinds when they are read.
// Thread model: call with the GIL held.
#pragma once

#include <grpcpp/grpcpp.h>
#include <pybind11/pybind11.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace comet::pybind {

// Which calls failed: the object store's have exception classes of their
// own (comet._raylet.PlasmaError and its subclasses).
enum class ErrorDomain { kCore, kPlasma };

// Adds PlasmaError and its subclasses to the module.
void RegisterExceptions(pybind11::module_& m);

// Throws the Python exception for a non-OK status; returns for OK.
void ThrowIfError(const absl::Status& status, ErrorDomain domain = ErrorDomain::kCore);

// Throws the Python exception for a failed call `what` to `peer` ("the
// GCS"), through the same table; a refused token says where this process's
// token came from.
[[noreturn]] void ThrowRpcError(const grpc::Status& status, absl::string_view what,
                                absl::string_view peer = "the GCS");

}  // namespace comet::pybind
