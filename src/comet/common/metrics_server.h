// MetricsServer: a minimal HTTP/1.1 server for Prometheus scrapes — GET
// /metrics answers `render()`'s text, anything else 404 — on an io_context
// thread. One request per connection (Connection: close); a request must
// arrive within 5 s and fit in 8 KiB. With a token, a scrape must carry
// `Authorization: Bearer <token>` (else 401); an empty token leaves /metrics
// open (`comet start --metrics-auth=none`): it is read-only. With a TLS
// identity (the node's certificate and key, when the cluster runs with
// --tls-*) it speaks HTTPS only, so the token never crosses the network in
// clear; scrapers verify it against the cluster's CA (server name
// "comet-cluster") and need no client certificate.
//
// Ownership: owns the acceptor, the TLS context and its connections. Thread
// model: confined to the io_context's thread, where `render` runs too; Stop()
// must run there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace comet {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  struct Options {
    std::string host;
    int port = 0;           // 0: the OS picks
    std::string token;      // empty: no check
    std::string cert_pem;   // both empty: plain HTTP; both set: HTTPS
    std::string key_pem;
  };

  // Binds host:port and starts accepting.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(boost::asio::io_context& io,
                                                              Options options, Render render);
  ~MetricsServer();

  int port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }
  void Stop();

 private:
  MetricsServer(boost::asio::io_context& io, Render render, std::string token);
  void Accept();

  boost::asio::io_context& io_;
  Render render_;
  const std::string token_;  // empty: no check
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain HTTP
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace comet
