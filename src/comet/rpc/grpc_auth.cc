#include "src/comet/rpc/grpc_auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/client_interceptor.h>

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
  std::string value(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slice)),
                    GRPC_SLICE_LENGTH(slice));
  return ConstantTimeEquals(value, expected);
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

// Attaches the token to each call; explains a refusal.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const ClusterAuth* auth) : auth_(auth) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(kAuthorization, BearerHeader(*auth_));
    }
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_STATUS)) {
      grpc::Status* status = methods->GetRecvStatus();
      if (status->error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        *status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                               RefusedTokenMessage(status->error_message(), *auth_));
      }
    }
    methods->Proceed();
  }

 private:
  const ClusterAuth* auth_;  // owned by the factory, which outlives the channel's calls
};

class TokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(ClusterAuth auth) : auth_(std::move(auth)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new TokenInterceptor(&auth_);
  }

 private:
  const ClusterAuth auth_;
};

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFor(const ClusterAuth& auth,
                                                                grpc::ChannelArguments* args) {
  if (!auth.tls.enabled()) return grpc::InsecureChannelCredentials();
  args->SetSslTargetNameOverride(kTlsTargetName);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = auth.tls.ca_pem;
  tls.pem_private_key = auth.tls.key_pem;
  tls.pem_cert_chain = auth.tls.cert_pem;
  return grpc::SslCredentials(tls);
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
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakeAuthChannel(const std::string& address,
                                               const ClusterAuth& auth,
                                               grpc::ChannelArguments args) {
  auto credentials = ChannelCredentialsFor(auth, &args);
  if (!auth.token_required()) return grpc::CreateCustomChannel(address, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> hooks;
  hooks.push_back(std::make_unique<TokenInterceptorFactory>(auth));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(hooks));
}

std::string RefusedTokenMessage(const std::string& server_detail, const ClusterAuth& auth) {
  return absl::StrCat("the cluster token was refused (", server_detail,
                      "); this process used the ", auth.Describe(),
                      ", and every process of a cluster needs the head's token (looked up in ",
                      TokenLookupOrder(), ")");
}

}  // namespace comet::rpc
