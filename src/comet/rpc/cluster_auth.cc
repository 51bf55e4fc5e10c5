#include "src/comet/rpc/cluster_auth.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace comet::rpc {
namespace {

constexpr char kTokenEnv[] = "COMET_AUTH_TOKEN";
constexpr char kTokenPathEnv[] = "COMET_AUTH_TOKEN_PATH";
constexpr char kModeEnv[] = "COMET_AUTH_MODE";

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<std::string> HomeTokenPath() {
  std::string home = Env("HOME");
  if (home.empty()) {
    struct passwd* pw = getpwuid(getuid());
    if (pw != nullptr && pw->pw_dir != nullptr) home = pw->pw_dir;
  }
  if (home.empty()) {
    return absl::NotFoundError("no home directory ($HOME is unset) for ~/.comet/auth_token");
  }
  return absl::StrCat(home, "/.comet/auth_token");
}

// A token must be usable as an HTTP header value and not trivially short.
absl::Status CheckToken(const std::string& token, const std::string& source) {
  if (token.size() < 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the cluster token from ", source, " is too short (", token.size(),
        " characters; at least 16, and `comet start --head` makes 64)"));
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          "the cluster token from ", source,
          " has a character that is not printable ASCII (spaces included)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The token in `path`; NotFound when the file does not exist.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("no token file at ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is not a file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "token file %s is readable by others (mode %04o); make it private with "
        "`chmod 600 %s`",
        path, st.st_mode & 07777, path));
  }
  auto text = ReadFile(path, "token file");
  if (!text.ok()) return text.status();
  return std::string(absl::StripAsciiWhitespace(*text));
}

absl::StatusOr<TlsFiles> LoadTls() {
  TlsFiles tls;
  tls.ca_path = Env("COMET_TLS_CA");
  tls.cert_path = Env("COMET_TLS_CERT");
  tls.key_path = Env("COMET_TLS_KEY");
  int set = !tls.ca_path.empty() + !tls.cert_path.empty() + !tls.key_path.empty();
  if (set == 0) return tls;
  if (set != 3) {
    return absl::InvalidArgumentError(
        "TLS needs all three of COMET_TLS_CA, COMET_TLS_CERT and COMET_TLS_KEY "
        "(--tls-ca, --tls-cert, --tls-key)");
  }
  auto ca = ReadFile(tls.ca_path, "TLS CA certificate (COMET_TLS_CA)");
  if (!ca.ok()) return ca.status();
  auto cert = ReadFile(tls.cert_path, "TLS certificate (COMET_TLS_CERT)");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(tls.key_path, "TLS key (COMET_TLS_KEY)");
  if (!key.ok()) return key.status();
  tls.ca_pem = *std::move(ca);
  tls.cert_pem = *std::move(cert);
  tls.key_pem = *std::move(key);
  return tls;
}

// The token and where it came from; NotFound when no place has one.
absl::StatusOr<ClusterAuth> FindToken(const LoadOptions& options) {
  ClusterAuth auth;
  auth.mode = AuthMode::kToken;
  std::string value = Env(kTokenEnv);
  if (!value.empty()) {
    auth.token = std::string(absl::StripAsciiWhitespace(value));
    auth.source = kTokenEnv;
    return auth;
  }
  auto path = DefaultTokenPath();
  if (!path.ok()) return path.status();
  auth.source = Env(kTokenPathEnv).empty() ? *path : absl::StrCat(kTokenPathEnv, "=", *path);
  auto token = ReadTokenFile(*path);
  if (absl::IsNotFound(token.status()) && options.create_if_missing) {
    token = CreateTokenFile(*path);
  }
  if (absl::IsNotFound(token.status())) {
    return absl::NotFoundError(absl::StrCat(
        "no cluster token found (looked in ", TokenLookupOrder(),
        "); copy the head's ~/.comet/auth_token here or set COMET_AUTH_TOKEN"));
  }
  if (!token.ok()) return token.status();
  auth.token = *std::move(token);
  return auth;
}

}  // namespace

std::string ClusterAuth::Describe() const {
  if (mode == AuthMode::kDisabled) return "no cluster token (auth disabled)";
  return absl::StrCat("cluster token from ", source);
}

std::string TokenLookupOrder() {
  auto home = HomeTokenPath();
  return absl::StrCat("$", kTokenEnv, ", $", kTokenPathEnv, ", ",
                      home.ok() ? *home : "~/.comet/auth_token");
}

absl::StatusOr<std::string> DefaultTokenPath() {
  std::string path = Env(kTokenPathEnv);
  if (!path.empty()) return path;
  return HomeTokenPath();
}

absl::StatusOr<std::string> CreateTokenFile(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(
          absl::StrCat("cannot create ", dir, " for the cluster token: ", std::strerror(errno)));
    }
  }
  unsigned char bytes[kTokenBytes];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("getrandom: ", std::strerror(errno)));
    }
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string token =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
  // Written under a temporary name and linked into place, so that a reader
  // never sees a half-written file and two creators agree on one token.
  std::string tmp = absl::StrCat(path, ".", getpid(), ".tmp");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create the token file ", tmp, ": ", std::strerror(errno)));
  }
  std::string line = token + "\n";
  bool written = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool closed = close(fd) == 0;
  if (!written || !closed) {
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write the token file ", tmp));
  }
  int linked = link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    return absl::InternalError(
        absl::StrCat("cannot create the token file ", path, ": ", std::strerror(link_errno)));
  }
  return ReadTokenFile(path);  // another process may have won the race
}

absl::StatusOr<ClusterAuth> LoadClusterAuth(const LoadOptions& options) {
  std::string mode = absl::AsciiStrToLower(Env(kModeEnv));
  ClusterAuth auth;
  if (mode == "disabled") {
    auth.mode = AuthMode::kDisabled;
  } else if (mode.empty() || mode == "token") {
    auto found = FindToken(options);
    if (!found.ok()) return found.status();
    auth = *std::move(found);
    absl::Status valid = CheckToken(auth.token, auth.source);
    if (!valid.ok()) return valid;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        kModeEnv, "=", mode, ": expected \"token\" (the default) or \"disabled\""));
  }
  auto tls = LoadTls();
  if (!tls.ok()) return tls.status();
  auth.tls = *std::move(tls);
  return auth;
}

std::map<std::string, std::string> AuthEnvironment(const ClusterAuth& auth) {
  std::map<std::string, std::string> env;
  env[kModeEnv] = auth.token_required() ? "token" : "disabled";
  if (auth.token_required()) env[kTokenEnv] = auth.token;
  if (auth.tls.enabled()) {
    env["COMET_TLS_CA"] = auth.tls.ca_path;
    env["COMET_TLS_CERT"] = auth.tls.cert_path;
    env["COMET_TLS_KEY"] = auth.tls.key_path;
  }
  return env;
}

bool IsLoopbackHost(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h == "localhost" || h == "::1" || absl::StartsWith(h, "127.");
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  // Every byte is read whatever the earlier ones were: no early exit.
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

}  // namespace comet::rpc
