#include "server/http.h"

#include <fstream>
#include <iterator>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/session.h"

namespace quire::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr size_t kMaxRequestBody = 1 << 20;
constexpr size_t kMaxRequestHeader = 16 << 10;

Response Reply(const Request& req, http::status status, std::string_view type, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "quire");
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string_view ContentType(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json") || ends(".map")) return "application/json";
  return "application/octet-stream";
}

// A file under the static directory, or nothing. Paths with "..", or
// anything but plain names, are refused.
std::optional<std::string> StaticFile(const ServerContext& ctx, std::string_view target) {
  if (ctx.options.static_dir.empty()) return std::nullopt;
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/" || path.empty()) path = "/index.html";
  if (path == "/dashboard") path = "/dashboard.html";
  if (path.find("..") != std::string_view::npos || path.find('\\') != std::string_view::npos ||
      path.find('\0') != std::string_view::npos || path.front() != '/') {
    return std::nullopt;
  }
  std::ifstream in(ctx.options.static_dir + std::string(path), std::ios::binary);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Response Handle(ServerContext& ctx, const Request& req) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return Reply(req, http::status::method_not_allowed, "text/plain", "method not allowed\n");
  }
  if (path == "/healthz") return Reply(req, http::status::ok, "text/plain", "ok\n");
  if (std::optional<std::string> file = StaticFile(ctx, target)) {
    std::string_view name = path == "/" ? "/index.html" : path;
    if (name == "/dashboard") name = "/dashboard.html";
    return Reply(req, http::status::ok, ContentType(name), std::move(*file));
  }
  if (path == "/") {
    return Reply(req, http::status::ok, "text/plain",
                 "Quire server. WebSocket endpoint: /ws (docs/protocol.md)\n");
  }
  return Reply(req, http::status::not_found, "text/plain", "not found\n");
}

}  // namespace

asio::awaitable<void> ServeConnection(ServerContext& ctx, beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    stream.expires_after(ctx.options.handshake_timeout);
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    parser.header_limit(kMaxRequestHeader);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    Request req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      const std::string_view target(req.target().data(), req.target().size());
      if (target.substr(0, target.find('?')) != "/ws") {
        Response res = Reply(req, http::status::not_found, "text/plain", "WebSocket endpoint is /ws\n");
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        break;
      }
      if (ctx.stopping.load()) break;
      auto session = std::make_shared<Session>(ctx, std::move(stream));
      session->Start(std::move(req));
      co_return;
    }
    Response res = Handle(ctx, req);
    const bool keep_alive = res.keep_alive();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace quire::server
