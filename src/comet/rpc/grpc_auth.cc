#include "src/comet/rpc/grpc_auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpc/support/string_util.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace comet::rpc {
namespace {

constexpr char kAuthorization[] = "authorization";
// Every Comet certificate names this host (comet tls init); channels verify
// the peer's certificate against it, whatever address they dial, so that a
// node's certificate does not depend on its IP.
constexpr char kTlsTargetName[] = "comet-cluster";

std::string BearerHeader(const ClusterAuth& auth) { return "Bearer " + auth.token; }

// ---- server side -----------------------------------------------------------

// State of one port's auth metadata processor; destroyed by gRPC with the
// credentials.
struct TokenCheck {
  std::string expected;  // "Bearer <token>"
  std::shared_ptr<AuthStats> stats;
};

bool SliceEquals(const grpc_slice& slice, const std::string& expected) {
  return ConstantTimeEquals(
      absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                        GRPC_SLICE_LENGTH(slice)),
      expected);
}

// Runs in gRPC's server auth filter, on the transport's thread, for every
// call, and answers at once (cheap: one comparison).
void ProcessToken(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md,
                  size_t num_md, grpc_process_auth_metadata_done_cb done, void* user_data) {
  auto* check = static_cast<TokenCheck*>(state);
  const grpc_metadata* presented = nullptr;
  for (size_t i = 0; i < num_md; ++i) {
    if (grpc_slice_str_cmp(md[i].key, kAuthorization) == 0) {
      presented = &md[i];
      break;
    }
  }
  if (presented != nullptr && SliceEquals(presented->value, check->expected)) {
    done(user_data, presented, 1, nullptr, 0, GRPC_STATUS_OK, nullptr);
    return;
  }
  check->stats->refused.fetch_add(1, std::memory_order_relaxed);
  done(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
       presented == nullptr ? "the call carried no cluster token"
                            : "the call carried a wrong cluster token");
}

void DestroyTokenCheck(void* state) { delete static_cast<TokenCheck*>(state); }

// Server credentials over gRPC's C core credentials, which (unlike the C++
// InsecureServerCredentials) take an auth metadata processor on plain TCP too.
class CheckedServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit CheckedServerCredentials(grpc_server_credentials* creds) : creds_(creds) {}
  ~CheckedServerCredentials() override { grpc_server_credentials_release(creds_); }

  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    // Never called: the token check is set on the core credentials.
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_;
};

grpc_server_credentials* CoreServerCredentials(const ClusterAuth& auth) {
  if (!auth.tls.enabled()) return grpc_insecure_server_credentials_create();
  grpc_ssl_pem_key_cert_pair pair = {auth.tls.key_pem.c_str(), auth.tls.cert_pem.c_str()};
  return grpc_ssl_server_credentials_create_ex(
      auth.tls.ca_pem.c_str(), &pair, 1,
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, nullptr);
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentialsFor(
    const ClusterAuth& auth, std::shared_ptr<AuthStats> stats) {
  if (!auth.token_required() && !auth.tls.enabled()) return grpc::InsecureServerCredentials();
  grpc_server_credentials* creds = CoreServerCredentials(auth);
  if (auth.token_required()) {
    auto* check = new TokenCheck{BearerHeader(auth), std::move(stats)};
    grpc_server_credentials_set_auth_metadata_processor(
        creds, grpc_auth_metadata_processor{ProcessToken, DestroyTokenCheck, check});
  }
  return std::make_shared<CheckedServerCredentials>(creds);
}

// ---- client side -----------------------------------------------------------

// Call credentials that attach "authorization: Bearer <token>" to every call
// (once per call: stream messages pay nothing), on plain TCP too: gRPC's core
// lets a plugin declare that it needs no channel security
// (GRPC_SECURITY_NONE), which the C++ InsecureChannelCredentials cannot be
// composed with.
struct TokenPlugin {
  grpc_slice value;  // "Bearer <token>", ref-counted, shared by all calls
};

int GetTokenMetadata(void* state, grpc_auth_metadata_context /*context*/,
                     grpc_credentials_plugin_metadata_cb /*cb*/, void* /*user_data*/,
                     grpc_metadata creds_md[GRPC_METADATA_CREDENTIALS_PLUGIN_SYNC_MAX],
                     size_t* num_creds_md, grpc_status_code* status,
                     const char** error_details) {
  auto* plugin = static_cast<TokenPlugin*>(state);
  creds_md[0].key = grpc_slice_from_static_string(kAuthorization);
  creds_md[0].value = grpc_slice_ref(plugin->value);  // the caller takes this reference
  *num_creds_md = 1;
  *status = GRPC_STATUS_OK;
  *error_details = nullptr;
  return 1;  // answered synchronously
}

char* DescribeTokenPlugin(void* /*state*/) { return gpr_strdup("comet cluster token"); }

void DestroyTokenPlugin(void* state) {
  auto* plugin = static_cast<TokenPlugin*>(state);
  grpc_slice_unref(plugin->value);
  delete plugin;
}

grpc_channel_credentials* CoreChannelCredentials(const ClusterAuth& auth) {
  if (!auth.tls.enabled()) return grpc_insecure_credentials_create();
  grpc_ssl_pem_key_cert_pair pair = {auth.tls.key_pem.c_str(), auth.tls.cert_pem.c_str()};
  return grpc_ssl_credentials_create_ex(auth.tls.ca_pem.c_str(), &pair, nullptr, nullptr);
}

grpc_channel_credentials* WithToken(grpc_channel_credentials* channel, const ClusterAuth& auth) {
  if (!auth.token_required()) return channel;
  std::string header = BearerHeader(auth);
  auto* state = new TokenPlugin{grpc_slice_from_copied_buffer(header.data(), header.size())};
  grpc_metadata_credentials_plugin plugin = {GetTokenMetadata, DescribeTokenPlugin,
                                             DestroyTokenPlugin, state, "comet_token"};
  grpc_call_credentials* call =
      grpc_metadata_credentials_create_from_plugin(plugin, GRPC_SECURITY_NONE, nullptr);
  grpc_channel_credentials* composite =
      grpc_composite_channel_credentials_create(channel, call, nullptr);
  grpc_channel_credentials_release(channel);
  grpc_call_credentials_release(call);
  return composite;
}

}  // namespace

absl::Status AddListeningPort(grpc::ServerBuilder* builder, const std::string& host, int port,
                              const ClusterAuth& auth, std::shared_ptr<AuthStats> stats,
                              int* bound_port) {
  if (!auth.token_required() && !IsLoopbackHost(host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster auth is disabled (COMET_AUTH_MODE=disabled), so Comet listens on "
        "loopback only; ",
        host, " is not a loopback address (turn auth back on to listen on it)"));
  }
  if (stats == nullptr) stats = std::make_shared<AuthStats>();
  std::string address = host.find(':') != std::string::npos && host.front() != '['
                            ? absl::StrCat("[", host, "]:", port)
                            : absl::StrCat(host, ":", port);
  builder->AddListeningPort(address, ServerCredentialsFor(auth, std::move(stats)), bound_port);
  // Clients ping every kKeepaliveTimeMs (MakeChannel): allow it, and ping
  // them back so a vanished client's calls (long polls) end too.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              kKeepaliveTimeMs / 2);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakeAuthChannel(const std::string& address,
                                               const ClusterAuth& auth,
                                               grpc::ChannelArguments args) {
  if (auth.tls.enabled()) args.SetSslTargetNameOverride(kTlsTargetName);
  // The core API needs gRPC initialised; the C++ Channel keeps its own
  // reference once made, so this one is dropped at the end.
  grpc_init();
  grpc_channel_credentials* credentials = WithToken(CoreChannelCredentials(auth), auth);
  grpc_channel_args c_args = args.c_channel_args();
  grpc_channel* channel = grpc_channel_create(address.c_str(), credentials, &c_args);
  grpc_channel_credentials_release(credentials);
  auto wrapped = grpc::CreateChannelInternal("", channel, {});
  grpc_shutdown();
  return wrapped;
}

absl::Status ExplainRefusal(const grpc::Status& status, const ClusterAuth& auth) {
  if (status.ok()) return absl::OkStatus();
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::UnauthenticatedError(RefusedTokenMessage(status.error_message(), auth));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

std::string RefusedTokenMessage(const std::string& server_detail, const ClusterAuth& auth) {
  return absl::StrCat("the cluster token was refused (", server_detail,
                      "); this process used the ", auth.Describe(),
                      ", and every process of a cluster needs the head's token (looked up in ",
                      TokenLookupOrder(), ")");
}

}  // namespace comet::rpc
