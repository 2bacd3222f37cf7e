#include "server/session_guard.h"

#include <algorithm>

#include "server/log.h"

namespace quire::server {
namespace {

using Clock = std::chrono::steady_clock;

Refusal Refuse(const TokenCheck& check) {
  const bool expired = check.problem == TokenProblem::kExpired;
  return Refusal{ProtocolError{expired ? ErrorCode::kTokenExpired : ErrorCode::kUnauthorized,
                               check.reason, std::nullopt, std::nullopt},
                 expired ? CloseCode::kTokenExpired : CloseCode::kUnauthorized};
}

}  // namespace

SessionGuard::SessionGuard(ServerContext& ctx, uint64_t session_id, Handshake handshake,
                           Clock::time_point now)
    : ctx_(ctx),
      session_id_(session_id),
      handshake_(std::move(handshake)),
      hello_deadline_(now + ctx.options.handshake_timeout),
      last_activity_(now) {}

std::optional<Refusal> SessionGuard::OnHello(const HelloMsg& hello, int64_t now_s) {
  if (handshake_.identity) {
    TokenCheck check;
    check.identity = *handshake_.identity;
    return Accept(check, hello);
  }
  if (!ctx_.auth->dev_mode() && hello.token.empty()) {
    TokenCheck none;
    none.problem = TokenProblem::kInvalid;
    none.reason = "a token is required (Authorization: Bearer, ?token= or hello's token)";
    return Accept(none, hello);
  }
  return Accept(ctx_.auth->Verify(hello.token, now_s), hello);
}

std::optional<Refusal> SessionGuard::Accept(const TokenCheck& check, const HelloMsg& hello) {
  if (!check.ok()) {
    Log(LogLevel::kWarn, "auth_refused")
        .Session(session_id_)
        .Ip(handshake_.address)
        .Code(check.problem == TokenProblem::kExpired ? 301 : 300)
        .Reason(check.reason);
    return Refuse(check);
  }
  hello_done_ = true;
  identity_ = check.identity;
  if (identity_.name.empty()) identity_.name = hello.name.empty() ? identity_.sub : hello.name;
  // In dev mode there are no users to share a budget: each connection has
  // its own (docs/operations.md).
  const std::string key = identity_.anonymous ? "anonymous@" + handshake_.address + "#" +
                                                    std::to_string(session_id_)
                                              : identity_.sub;
  budget_ = ctx_.budgets->For(key, Clock::now());
  return std::nullopt;
}

std::optional<Refusal> SessionGuard::OnRefresh(const RefreshMsg& refresh, int64_t now_s,
                                               int64_t* exp_s) {
  if (ctx_.auth->dev_mode()) {
    *exp_s = 0;  // Nothing expires in dev mode; the refresh changes nothing.
    return std::nullopt;
  }
  TokenCheck check = ctx_.auth->Verify(refresh.token, now_s);
  if (check.ok() && check.identity.sub != identity_.sub) {
    check.problem = TokenProblem::kInvalid;
    check.reason = "a refresh must keep the user (sub)";
  }
  if (!check.ok()) {
    Log(LogLevel::kWarn, "refresh_refused")
        .Session(session_id_)
        .User(identity_.sub)
        .Code(check.problem == TokenProblem::kExpired ? 301 : 300)
        .Reason(check.reason);
    return Refuse(check);
  }
  const std::string name = identity_.name;
  identity_ = std::move(check.identity);
  if (identity_.name.empty()) identity_.name = name;
  *exp_s = identity_.exp;
  return std::nullopt;
}

std::optional<ProtocolError> SessionGuard::CheckOpen(const OpenMsg& open) const {
  if (identity_.CanRead(open.doc)) return std::nullopt;
  return ProtocolError{ErrorCode::kForbidden, "the token gives no right to read this document",
                       open.channel, std::nullopt};
}

std::optional<ProtocolError> SessionGuard::CheckWrite(const std::string& doc, uint16_t channel,
                                                      uint64_t ref, size_t bytes,
                                                      Clock::time_point now) {
  if (!identity_.CanWrite(doc)) {
    return ProtocolError{ErrorCode::kForbidden, "the token gives no right to write this document",
                         channel, ref};
  }
  if (const int64_t wait_ms = budget_->TryTake(bytes, now); wait_ms > 0) {
    return ProtocolError{ErrorCode::kRateLimited,
                         "over the user's edit budget; retry in " + std::to_string(wait_ms) + " ms",
                         channel, ref};
  }
  return std::nullopt;
}

SessionGuard::Due SessionGuard::Check(Clock::time_point now, int64_t now_ms,
                                      Clock::time_point* next) const {
  *next = Clock::time_point::max();
  if (!hello_done_) {
    if (now >= hello_deadline_) return Due::kHello;
    *next = hello_deadline_;
    return Due::kNothing;
  }
  if (identity_.exp != 0) {
    const int64_t ends_ms = (identity_.exp + ctx_.options.auth.leeway.count()) * 1000;
    if (now_ms >= ends_ms) return Due::kTokenExpired;
    *next = std::min(*next, now + std::chrono::milliseconds(ends_ms - now_ms));
  }
  const auto idle = ctx_.options.limits.idle_timeout;
  if (idle.count() > 0) {
    const Clock::time_point idle_at = last_activity_ + idle;
    if (now >= idle_at) return Due::kIdle;
    *next = std::min(*next, idle_at);
  }
  return Due::kNothing;
}

}  // namespace quire::server
