// comet._raylet's view of the cluster token (src/comet/rpc/cluster_auth.h), so
// that Python (the CLI, the dashboard, the job SDK) finds it exactly as the
// C++ daemons do.
#include "src/comet/pybind/process_auth.h"
#include "src/comet/pybind/status_to_python.h"

namespace py = pybind11;

namespace comet::pybind {
namespace {

[[noreturn]] void ThrowAuthError(const absl::Status& status) {
  ThrowIfError(absl::UnauthenticatedError(status.message()));
  throw std::logic_error("unreachable");
}

rpc::ClusterAuth Load(bool create_if_missing) {
  auto auth = rpc::LoadClusterAuth({.create_if_missing = create_if_missing});
  if (!auth.ok()) ThrowAuthError(auth.status());
  return *std::move(auth);
}

}  // namespace

rpc::ClusterAuth ProcessAuth() { return Load(/*create_if_missing=*/false); }

void BindAuth(py::module_& m) {
  m.def(
      "load_cluster_auth",
      [](bool create_if_missing) {
        rpc::ClusterAuth auth = Load(create_if_missing);
        py::dict out;
        out["mode"] = auth.token_required() ? "token" : "disabled";
        out["token"] = auth.token;
        out["source"] = auth.source;
        out["tls"] = auth.tls.enabled();
        return out;
      },
      py::arg("create_if_missing") = false,
      "This process's cluster credentials, found as every Comet process finds them "
      "($COMET_AUTH_TOKEN, $COMET_AUTH_TOKEN_PATH, ~/.comet/auth_token; COMET_AUTH_MODE, "
      "COMET_TLS_*): a dict with mode ('token' or 'disabled'), token, source (where the "
      "token was found) and tls. With create_if_missing, a missing token file is created "
      "(256 random bits, mode 0600). Raises comet.exceptions.AuthenticationError.");
  m.def("token_lookup_order", &rpc::TokenLookupOrder,
        "The places searched for the cluster token, in order, for messages.");
}

}  // namespace comet::pybind
