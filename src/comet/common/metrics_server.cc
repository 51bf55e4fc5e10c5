#include "src/comet/common/metrics_server.h"

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <istream>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "src/comet/rpc/cluster_auth.h"

namespace comet {
namespace {

using boost::asio::ip::tcp;
namespace ssl = boost::asio::ssl;

// The whole HTTP response to one request head.
std::string Answer(boost::asio::streambuf& request, MetricsServer::Render& render,
                   const std::string& token) {
  std::istream in(&request);
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
  if (!token.empty() && !rpc::ConstantTimeEquals(authorization, "Bearer " + token)) {
    status = "401 Unauthorized";
    extra_headers = "WWW-Authenticate: Bearer realm=\"comet\"\r\n";
    body = authorization.empty()
               ? "this endpoint needs the cluster token: Authorization: Bearer <token>\n"
               : "wrong cluster token\n";
  } else if (method != "GET") {
    status = "405 Method Not Allowed";
    body = "only GET\n";
  } else if (target == "/metrics" || absl::StartsWith(target, "/metrics?")) {
    body = render();
  } else {
    status = "404 Not Found";
    body = "see /metrics\n";
  }
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

// One connection: (TLS handshake,) read the request head, answer, close.
// Stream is tcp::socket or ssl::stream<tcp::socket>.
template <typename Stream>
class Exchange : public std::enable_shared_from_this<Exchange<Stream>> {
 public:
  Exchange(Stream stream, std::shared_ptr<bool> alive, MetricsServer::Render* render,
           const std::string* token)
      : stream_(std::move(stream)),
        timer_(stream_.get_executor()),
        alive_(std::move(alive)),
        render_(render),
        token_(token),
        request_(8192) {}

  void Run() {
    auto self = this->shared_from_this();
    timer_.expires_after(std::chrono::seconds(5));
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->stream_.lowest_layer().close();
    });
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      Read();
    } else {
      stream_.async_handshake(ssl::stream_base::server,
                              [self](const boost::system::error_code& ec) {
                                if (ec) return self->Close();
                                self->Read();
                              });
    }
  }

 private:
  void Read() {
    auto self = this->shared_from_this();
    boost::asio::async_read_until(stream_, request_, "\r\n\r\n",
                                  [self](const boost::system::error_code& ec, size_t) {
                                    self->OnRequest(ec);
                                  });
  }

  void OnRequest(const boost::system::error_code& ec) {
    if (ec || !*alive_) return Close();
    response_ = Answer(request_, *render_, *token_);
    auto self = this->shared_from_this();
    boost::asio::async_write(stream_, boost::asio::buffer(response_),
                             [self](const boost::system::error_code&, size_t) { self->Close(); });
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
  }

  Stream stream_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_;
  MetricsServer::Render* render_;
  const std::string* token_;  // owned by the server, which outlives the exchange's use
  boost::asio::streambuf request_;
  std::string response_;
};

absl::StatusOr<std::unique_ptr<ssl::context>> TlsContext(const std::string& cert_pem,
                                                         const std::string& key_pem) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                       ec);
  if (!ec) context->use_certificate_chain(boost::asio::buffer(cert_pem), ec);
  if (!ec) context->use_private_key(boost::asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics endpoint cannot use the node's TLS certificate and key: ",
                     ec.message()));
  }
  return context;
}

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, Render render, std::string token)
    : io_(io), render_(std::move(render)), token_(std::move(token)), acceptor_(io) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(boost::asio::io_context& io,
                                                                    Options options,
                                                                    Render render) {
  const std::string& host = options.host;
  const int port = options.port;
  if (options.cert_pem.empty() != options.key_pem.empty()) {
    return absl::InvalidArgumentError("metrics endpoint: TLS needs both a certificate and a key");
  }
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(io, std::move(render), std::move(options.token)));
  if (!options.cert_pem.empty()) {
    auto context = TlsContext(options.cert_pem, options.key_pem);
    if (!context.ok()) return context.status();
    server->tls_ = std::move(*context);
  }
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
    if (!ec && tls_ != nullptr) {
      std::make_shared<Exchange<ssl::stream<tcp::socket>>>(
          ssl::stream<tcp::socket>(std::move(socket), *tls_), alive, &render_, &token_)
          ->Run();
    } else if (!ec) {
      std::make_shared<Exchange<tcp::socket>>(std::move(socket), alive, &render_, &token_)
          ->Run();
    }
    if (acceptor_.is_open()) Accept();
  });
}

void MetricsServer::Stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace comet
