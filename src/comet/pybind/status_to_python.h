// Maps absl::Status to Python exceptions: the one place where C++ errors turn
// into exceptions. Registered once per module by RegisterExceptions().
#pragma once

#include <pybind11/pybind11.h>

#include "absl/status/status.h"

namespace comet::pybind {

// Adds PlasmaError and its subclasses to the module.
void RegisterExceptions(pybind11::module_& m);

// Throws the Python exception for a non-OK status; returns for OK.
void ThrowIfError(const absl::Status& status);

}  // namespace comet::pybind
