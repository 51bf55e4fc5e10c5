// MetricsServer: a minimal HTTP/1.1 server for Prometheus scrapes — GET
// /metrics answers `render()`'s text, anything else 404 — on an io_context
// thread. One request per connection (Connection: close); a request must
// arrive within 5 s and fit in 8 KiB. With a token, a scrape must carry
// `Authorization: Bearer <token>` (else 401); an empty token leaves /metrics
// open (`comet start --metrics-auth=none`): it is read-only.
//
// Ownership: owns the acceptor and its connections. Thread model: confined to
// the io_context's thread, where `render` runs too; Stop() must run there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace comet {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Binds HOST:PORT (0: the OS picks) and starts accepting.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(boost::asio::io_context& io,
                                                              const std::string& host, int port,
                                                              Render render,
                                                              std::string token);
  ~MetricsServer();

  int port() const { return port_; }
  void Stop();

 private:
  MetricsServer(boost::asio::io_context& io, Render render, std::string token);
  void Accept();

  boost::asio::io_context& io_;
  Render render_;
  const std::string token_;  // empty: no check
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace comet
