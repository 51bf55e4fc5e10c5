#include "src/comet/common/metrics_server.h"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <istream>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet {
namespace {

using boost::asio::ip::tcp;

// One connection: read the request head, answer, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, std::shared_ptr<bool> alive, MetricsServer::Render* render,
           const std::string* token)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        alive_(std::move(alive)),
        render_(render),
        token_(token),
        request_(8192) {}

  void Run() {
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::seconds(5));
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->socket_.close();
    });
    boost::asio::async_read_until(socket_, request_, "\r\n\r\n",
                                  [self](const boost::system::error_code& ec, size_t) {
                                    self->OnRequest(ec);
                                  });
  }

 private:
  void OnRequest(const boost::system::error_code& ec) {
    if (ec || !*alive_) return Close();
    std::istream in(&request_);
    std::string method, target, line, authorization;
    in >> method >> target;
    while (std::getline(in, line)) {  // the headers
      absl::string_view header = absl::StripTrailingAsciiWhitespace(line);
      if (absl::StartsWithIgnoreCase(header, "authorization:")) {
        authorization = std::string(absl::StripAsciiWhitespace(header.substr(14)));
      }
    }
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    std::string extra_headers;
    if (!token_->empty() && !rpc::ConstantTimeEquals(authorization, "Bearer " + *token_)) {
      status = "401 Unauthorized";
      extra_headers = "WWW-Authenticate: Bearer realm=\"comet\"\r\n";
      body = authorization.empty()
                 ? "this endpoint needs the cluster token: Authorization: Bearer <token>\n"
                 : "wrong cluster token\n";
    } else if (method != "GET") {
      status = "405 Method Not Allowed";
      body = "only GET\n";
    } else if (target == "/metrics" || absl::StartsWith(target, "/metrics?")) {
      body = (*render_)();
    } else {
      status = "404 Not Found";
      body = "see /metrics\n";
    }
    response_ = absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                             "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                             "Connection: close\r\n\r\n", body);
    auto self = shared_from_this();
    boost::asio::async_write(socket_, boost::asio::buffer(response_),
                             [self](const boost::system::error_code&, size_t) { self->Close(); });
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_;
  MetricsServer::Render* render_;
  const std::string* token_;  // owned by the server, which outlives the exchange's use
  boost::asio::streambuf request_;
  std::string response_;
};

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, Render render, std::string token)
    : io_(io), render_(std::move(render)), token_(std::move(token)), acceptor_(io) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(boost::asio::io_context& io,
                                                                    const std::string& host,
                                                                    int port, Render render,
                                                                    std::string token) {
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(io, std::move(render), std::move(token)));
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad metrics host ", host));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  server->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) server->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) server->acceptor_.bind(endpoint, ec);
  if (!ec) server->acceptor_.listen(64, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("metrics endpoint cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  server->port_ = server->acceptor_.local_endpoint().port();
  server->Accept();
  return server;
}

void MetricsServer::Accept() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec,
                                                tcp::socket socket) {
    if (!*alive) return;
    if (!ec) std::make_shared<Exchange>(std::move(socket), alive, &render_, &token_)->Run();
    if (acceptor_.is_open()) Accept();
  });
}

void MetricsServer::Stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace comet
