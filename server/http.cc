#include "server/http.h"

#include <fstream>
#include <iterator>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/api.h"
#include "server/auth.h"
#include "server/http_util.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/room.h"
#include "server/session.h"
#include "server/sse.h"

namespace quire::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr size_t kMaxRequestBody = 1 << 20;
constexpr size_t kMaxRequestHeader = 16 << 10;

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
std::optional<std::string> StaticFile(const ServerContext& ctx, std::string_view path) {
  if (ctx.options.static_dir.empty()) return std::nullopt;
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

std::string_view Origin(const HttpRequest& req) {
  auto it = req.find(http::field::origin);
  return it == req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

// Holds a connection's place in the per-address count and the connection
// gauge; the last holder (the connection, or the session it became) gives
// both back.
class ConnectionSlot {
 public:
  ConnectionSlot(ServerContext& ctx, std::string address) : ctx_(ctx), address_(std::move(address)) {
    ctx_.metrics->connections.fetch_add(1);
  }
  ~ConnectionSlot() {
    ctx_.addresses->Give(address_);
    ctx_.metrics->connections.fetch_sub(1);
  }

 private:
  ServerContext& ctx_;
  std::string address_;
};

ScrapeInputs ScrapeNow(ServerContext& ctx) {
  ScrapeInputs in;
  in.sessions = ctx.sessions.size();
  for (const std::shared_ptr<Room>& r : ctx.rooms->All()) {
    ++in.rooms_loaded;
    if (r->users() > 0) ++in.rooms_active;
  }
  const storage::StoreStats stats = ctx.store->Stats();
  in.store_writes = stats.writes;
  in.store_changes = stats.appended_changes;
  in.snapshots = stats.snapshots_taken;
  in.store_sync = ctx.options.durability == storage::Durability::kSync;
  return in;
}

// The answer to a CORS preflight for the API, when the origin may call it.
HttpResponse Preflight(const HttpRequest& req) {
  HttpResponse res = Reply(req, http::status::no_content, "text/plain", "");
  const std::string_view origin = Origin(req);
  if (!origin.empty()) {
    res.set(http::field::access_control_allow_origin, beast::string_view(origin.data(), origin.size()));
    res.set(http::field::access_control_allow_methods, "GET, POST");
    res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
    res.set(http::field::vary, "Origin");
  }
  return res;
}

// Plain requests that answer at once.
HttpResponse HandleSimple(ServerContext& ctx, const HttpRequest& req, const Target& target) {
  const std::string& path = target.path;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return Reply(req, http::status::method_not_allowed, "text/plain", "method not allowed\n");
  }
  if (path == "/healthz") return Reply(req, http::status::ok, "text/plain", "ok\n");
  if (path == "/readyz") {
    Status s = ctx.stopping.load() ? Status(StatusCode::kInternal, "the server is stopping")
                                   : ctx.store->CheckWritable();
    return s.ok() ? Reply(req, http::status::ok, "text/plain", "ready\n")
                  : Reply(req, http::status::service_unavailable, "text/plain",
                          "not ready: " + s.message() + "\n");
  }
  if (path == "/metrics") {
    return Reply(req, http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                 ctx.metrics->Scrape(ScrapeNow(ctx)));
  }
  if (std::optional<std::string> file = StaticFile(ctx, path)) {
    std::string_view name = path == "/" ? "/index.html" : std::string_view(path);
    if (name == "/dashboard") name = "/dashboard.html";
    return Reply(req, http::status::ok, ContentType(name), std::move(*file));
  }
  if (path == "/") {
    return Reply(req, http::status::ok, "text/plain",
                 "Quire server. WebSocket endpoint: /ws (docs/protocol.md)\n");
  }
  return Reply(req, http::status::not_found, "text/plain", "not found\n");
}

// /api/docs/{id}[/ops|/events] -> the decoded id and the suffix. The id is
// split off before decoding, so a document named "a/ops" is "a%2Fops".
bool SplitDocRoute(std::string_view raw_path, std::string* id, std::string_view* suffix) {
  constexpr std::string_view kPrefix = "/api/docs/";
  if (raw_path.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = raw_path.substr(kPrefix.size());
  *suffix = "";
  for (std::string_view s : {std::string_view("/ops"), std::string_view("/events")}) {
    if (rest.size() > s.size() && rest.substr(rest.size() - s.size()) == s) {
      *suffix = s;
      rest.remove_suffix(s.size());
      break;
    }
  }
  std::optional<std::string> decoded = PercentDecode(rest, /*plus_is_space=*/false);
  if (!decoded || decoded->empty()) return false;
  *id = std::move(*decoded);
  return true;
}

enum class Next : uint8_t { kKeepAlive, kClose };

// Serves one request that is not an upgrade. Streams take the connection.
asio::awaitable<Next> Serve(ServerContext& ctx, beast::tcp_stream& stream, HttpRequest& req,
                            const std::string& address) {
  beast::error_code ec;
  std::optional<Target> target = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  std::optional<HttpResponse> res;
  std::string id;
  std::string_view suffix;
  const bool api = target && target->raw_path.starts_with("/api/");
  if (!target) {
    res = Reply(req, http::status::bad_request, "text/plain", "bad request target\n");
  } else if (api && !OriginAllowed(ctx.options.allowed_origins, Origin(req))) {
    res = Reply(req, http::status::forbidden, "text/plain", "origin not allowed\n");
  } else if (api && req.method() == http::verb::options) {
    res = Preflight(req);
  } else if (target->path == "/api/stats/events" && req.method() == http::verb::get) {
    co_await ServeStatsEvents(ctx, stream, req);
    co_return Next::kClose;
  } else if (SplitDocRoute(target->raw_path, &id, &suffix)) {
    if (suffix == "/events" && req.method() == http::verb::get) {
      co_await ServeDocEvents(ctx, stream, req, *target, id);
      co_return Next::kClose;
    }
    if (suffix == "/ops" && req.method() == http::verb::post) {
      res = co_await PostOps(ctx, req, *target, id, address);
    } else if (suffix.empty() && req.method() == http::verb::get) {
      res = co_await GetDocument(ctx, req, *target, id);
    } else {
      res = Reply(req, http::status::method_not_allowed, "text/plain", "method not allowed\n");
    }
  } else {
    res = HandleSimple(ctx, req, *target);
  }
  if (api && !Origin(req).empty()) {
    const std::string_view origin = Origin(req);
    res->set(http::field::access_control_allow_origin, beast::string_view(origin.data(), origin.size()));
    res->set(http::field::vary, "Origin");
  }
  const bool keep_alive = res->keep_alive();
  co_await http::async_write(stream, *res, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec || !keep_alive ? Next::kClose : Next::kKeepAlive;
}

// Checks an upgrade's Origin and token. A refusal is written here and the
// connection closes; otherwise the handshake for the session.
asio::awaitable<std::optional<Handshake>> CheckUpgrade(ServerContext& ctx, beast::tcp_stream& stream,
                                                       const HttpRequest& req,
                                                       const std::string& address) {
  beast::error_code ec;
  std::optional<HttpResponse> refusal;
  std::optional<Target> target = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  Handshake hs;
  hs.address = address;
  if (!target || target->path != "/ws") {
    refusal = Reply(req, http::status::not_found, "text/plain", "WebSocket endpoint is /ws\n");
  } else if (!OriginAllowed(ctx.options.allowed_origins, Origin(req))) {
    Log(LogLevel::kWarn, "origin_refused").Ip(hs.address).Str("origin", Origin(req));
    refusal = Reply(req, http::status::forbidden, "text/plain", "origin not allowed\n");
  } else if (const std::string token = RequestToken(req, *target); !token.empty()) {
    // A bad token is refused before any WebSocket exists: the upgrade gets
    // 401 with the protocol code in a JSON body.
    TokenCheck check = ctx.auth->Verify(token, UnixSeconds());
    if (check.ok()) {
      hs.identity = std::move(check.identity);
    } else {
      const ErrorCode code = check.problem == TokenProblem::kExpired ? ErrorCode::kTokenExpired
                                                                      : ErrorCode::kUnauthorized;
      Log(LogLevel::kWarn, "auth_refused")
          .Ip(hs.address)
          .Code(static_cast<int>(code))
          .Reason(check.reason);
      ctx.metrics->Rejected(static_cast<uint16_t>(code));
      refusal = ErrorReply(req, code, check.reason);
    }
  }
  if (!refusal) co_return hs;
  refusal->keep_alive(false);
  co_await http::async_write(stream, *refusal, asio::redirect_error(asio::use_awaitable, ec));
  co_return std::nullopt;
}

}  // namespace

asio::awaitable<void> ServeConnection(ServerContext& ctx, beast::tcp_stream stream) {
  beast::error_code ec;
  std::string address = PeerAddress(stream.socket());
  if (!ctx.addresses->Take(address)) {
    // Over the per-address limit: answered without reading the request.
    ctx.metrics->ConnectionRefused();
    Log(LogLevel::kDebug, "connection_refused").Ip(address).Reason("too many connections");
    static constexpr std::string_view kBusy =
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
        "Connection: close\r\n\r\ntoo many connections from this address\r\n";
    stream.expires_after(ctx.options.handshake_timeout);
    co_await asio::async_write(stream, asio::buffer(kBusy.data(), kBusy.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    co_return;
  }
  auto slot = std::make_shared<ConnectionSlot>(ctx, address);
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(ctx.options.handshake_timeout);
    http::request_parser<http::string_body> parser;
    parser.body_limit(std::min(kMaxRequestBody, ctx.options.limits.max_frame));
    parser.header_limit(kMaxRequestHeader);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    HttpRequest req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      if (ctx.stopping.load()) break;
      std::optional<Handshake> hs = co_await CheckUpgrade(ctx, stream, req, address);
      if (!hs) break;
      hs->slot = std::move(slot);
      auto session = std::make_shared<Session>(ctx, std::move(stream), std::move(*hs));
      session->Start(std::move(req));
      co_return;
    }
    stream.expires_never();  // API calls wait for rooms; streams run on.
    if (co_await Serve(ctx, stream, req, address) == Next::kClose) break;
  }
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace quire::server
