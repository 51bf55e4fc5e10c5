// ClusterAuth: what this process presents to the cluster and checks in its
// peers: the cluster token (and the TLS files when mutual TLS is on), found
// once at start-up by LoadClusterAuth() and passed by value to whatever opens
// a channel or a port (MakeChannel, AddListeningPort in grpc_auth.h).
//
// The token is looked up, first found wins:
//   1. COMET_AUTH_TOKEN       the token itself;
//   2. COMET_AUTH_TOKEN_PATH  a file that holds it;
//   3. ~/.comet/auth_token    ($HOME, else the user's home from passwd).
// A token file readable by group or others is refused. COMET_AUTH_MODE=
// disabled turns the check off (AuthMode::kDisabled): nothing is presented or
// checked, and AddListeningPort refuses any address but loopback.
// COMET_TLS_CA, COMET_TLS_CERT and COMET_TLS_KEY (paths, all three or none)
// turn on mutual TLS.
//
// Plain values, no shared state: copy freely between threads.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace comet::rpc {

enum class AuthMode { kToken, kDisabled };

struct TlsFiles {
  std::string ca_path, cert_path, key_path;  // all empty: no TLS
  std::string ca_pem, cert_pem, key_pem;     // their contents
  bool enabled() const { return !ca_path.empty(); }
};

struct ClusterAuth {
  // The default (disabled, no token) is for unit tests only: every binary
  // builds its ClusterAuth with LoadClusterAuth().
  AuthMode mode = AuthMode::kDisabled;
  std::string token;
  // Where the token was found, for error messages: "COMET_AUTH_TOKEN",
  // "COMET_AUTH_TOKEN_PATH=/x/y" or "/home/u/.comet/auth_token".
  std::string source;
  TlsFiles tls;

  bool token_required() const { return mode == AuthMode::kToken; }
  // "cluster token from <source>" or "no cluster token (auth disabled)".
  std::string Describe() const;
};

// Tokens made here: 32 random bytes (256 bits) as 64 hex characters.
constexpr int kTokenBytes = 32;

struct LoadOptions {
  // When no token is found anywhere: create one (at COMET_AUTH_TOKEN_PATH if
  // set, else ~/.comet/auth_token) instead of failing. Heads and local
  // init() create; joining nodes, drivers and workers only read.
  bool create_if_missing = false;
};

// Reads the environment and the token file. NotFound names every place
// looked in; InvalidArgument for a bad token, mode or TLS setting;
// PermissionDenied for a token file readable by others.
absl::StatusOr<ClusterAuth> LoadClusterAuth(const LoadOptions& options = {});

// The places LoadClusterAuth looks, in order, for error messages.
std::string TokenLookupOrder();

// Where a new token goes: $COMET_AUTH_TOKEN_PATH, else ~/.comet/auth_token.
absl::StatusOr<std::string> DefaultTokenPath();

// Writes a fresh random token to `path` (mode 0600; a missing parent
// directory is made with mode 0700) unless the file already exists, and
// returns the token the file holds.
absl::StatusOr<std::string> CreateTokenFile(const std::string& path);

// The environment a child process needs to find the same credentials
// (COMET_AUTH_MODE, COMET_AUTH_TOKEN, COMET_TLS_*), for the raylet's workers.
std::map<std::string, std::string> AuthEnvironment(const ClusterAuth& auth);

// True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets).
bool IsLoopbackHost(const std::string& host);

// Constant-time equality (the time depends on the lengths only).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace comet::rpc
