// What every HTTP handler of the server shares: request and response
// types, JSON error replies with the protocol's codes, the request target
// split into a decoded path and query, and authentication of a request by
// its bearer token (docs/protocol.md, "HTTP").
//
// Thread safety: free functions on values.
#ifndef QUIRE_SERVER_HTTP_UTIL_H_
#define QUIRE_SERVER_HTTP_UTIL_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/auth.h"
#include "server/context.h"
#include "server/protocol.h"

namespace quire::server {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

HttpResponse Reply(const HttpRequest& req, boost::beast::http::status status,
                   std::string_view content_type, std::string body);
// {"code": 302, "error": "forbidden", "message": "..."} with the HTTP
// status that code maps to (HttpStatusFor).
HttpResponse ErrorReply(const HttpRequest& req, ErrorCode code, std::string_view message);
boost::beast::http::status HttpStatusFor(ErrorCode code);

struct Target {
  std::string raw_path;  // As sent: a route splits it before decoding its parts.
  std::string path;      // Percent-decoded.
  std::map<std::string, std::string, std::less<>> query;  // Decoded; the last value of a key wins.
};
// Splits and decodes a request target; nullopt for bad percent escapes.
std::optional<Target> ParseTarget(std::string_view target);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nullopt
// for a bad escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// The request's token: `Authorization: Bearer <jwt>`, else `?token=`.
std::string RequestToken(const HttpRequest& req, const Target& target);

// Authenticates a request. Without a token: anonymous in dev mode, else
// 300. A refusal is the error code and reason.
struct RequestAuth {
  std::optional<Identity> identity;
  ErrorCode code = ErrorCode::kUnauthorized;
  std::string reason;
};
RequestAuth AuthenticateRequest(ServerContext& ctx, const HttpRequest& req, const Target& target);

// Unix time now.
int64_t UnixSeconds();

// The client's address as text ("" when the socket has none).
template <typename Socket>
std::string PeerAddress(const Socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

}  // namespace quire::server

#endif  // QUIRE_SERVER_HTTP_UTIL_H_
