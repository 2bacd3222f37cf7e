#include "server/http_util.h"

#include <chrono>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace quire::server {
namespace http = boost::beast::http;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

HttpResponse Reply(const HttpRequest& req, http::status status, std::string_view content_type,
                   std::string body) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "quire");
  res.set(http::field::content_type,
          boost::beast::string_view(content_type.data(), content_type.size()));
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::status HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnauthorized:
    case ErrorCode::kTokenExpired: return http::status::unauthorized;
    case ErrorCode::kForbidden: return http::status::forbidden;
    case ErrorCode::kRateLimited: return http::status::too_many_requests;
    case ErrorCode::kRoomFull:
    case ErrorCode::kUnavailable:
    case ErrorCode::kShuttingDown: return http::status::service_unavailable;
    case ErrorCode::kDocTooLarge:
    case ErrorCode::kTooLarge: return http::status::payload_too_large;
    case ErrorCode::kDoesNotFit:
    case ErrorCode::kNotCausal: return http::status::unprocessable_entity;
    case ErrorCode::kBadSeq:
    case ErrorCode::kStaleEpoch: return http::status::conflict;
    case ErrorCode::kInternal: return http::status::internal_server_error;
    default: return http::status::bad_request;
  }
}

HttpResponse ErrorReply(const HttpRequest& req, ErrorCode code, std::string_view message) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"error", std::string(ErrorCodeName(code))},
                         {"message", std::string(message)}};
  HttpResponse res = Reply(req, HttpStatusFor(code), "application/json", body.dump() + "\n");
  if (code == ErrorCode::kUnauthorized || code == ErrorCode::kTokenExpired) {
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  return res;
}

std::optional<Target> ParseTarget(std::string_view target) {
  const size_t q = target.find('?');
  Target t;
  t.raw_path = std::string(target.substr(0, q));
  std::optional<std::string> path = PercentDecode(target.substr(0, q), /*plus_is_space=*/false);
  if (!path) return std::nullopt;
  t.path = std::move(*path);
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
    std::optional<std::string> value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    t.query[std::move(*key)] = std::move(*value);
  }
  return t;
}

std::string RequestToken(const HttpRequest& req, const Target& target) {
  auto it = req.find(http::field::authorization);
  if (it != req.end()) {
    const std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size() && value.substr(0, kBearer.size()) == kBearer) {
      return std::string(value.substr(kBearer.size()));
    }
  }
  auto q = target.query.find("token");
  return q == target.query.end() ? std::string() : q->second;
}

RequestAuth AuthenticateRequest(ServerContext& ctx, const HttpRequest& req, const Target& target) {
  RequestAuth out;
  const std::string token = RequestToken(req, target);
  if (token.empty() && !ctx.auth->dev_mode()) {
    out.reason = "a token is required (Authorization: Bearer or ?token=)";
    return out;
  }
  TokenCheck check = ctx.auth->Verify(token, UnixSeconds());
  if (!check.ok()) {
    out.code = check.problem == TokenProblem::kExpired ? ErrorCode::kTokenExpired
                                                        : ErrorCode::kUnauthorized;
    out.reason = std::move(check.reason);
    return out;
  }
  out.identity = std::move(check.identity);
  return out;
}

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace quire::server
