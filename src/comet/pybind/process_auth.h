// This process's cluster credentials for the bindings that open channels
// (GcsClient, StateClient, the core worker, one-shot state calls): read from
// the environment and the token file each time one is built, so that a
// process finds the token the way every other Comet process does. A failure
// raises comet.exceptions.AuthenticationError. Needs the GIL.
#pragma once

#include <pybind11/pybind11.h>

#include "src/comet/rpc/cluster_auth.h"

namespace comet::pybind {

rpc::ClusterAuth ProcessAuth();

// Adds load_cluster_auth() and token_lookup_order() to the module.
void BindAuth(pybind11::module_& m);

}  // namespace comet::pybind
