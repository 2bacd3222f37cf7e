#include "server/api.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/room.h"
#include "server/room_listener.h"
#include "storage/store.h"

namespace quire::server {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// How long an HTTP request waits for its room (loading, history, the
// store's write) before it answers 503.
constexpr auto kRoomDeadline = std::chrono::seconds(10);
// What a listener may hold: a GET takes the whole text, up to the
// document size limit.
size_t ListenerCap(const ServerContext& ctx) { return ctx.options.limits.max_doc_bytes + (1 << 20); }

HttpResponse JsonReply(const HttpRequest& req, const json& body) {
  return Reply(req, http::status::ok, "application/json", body.dump() + "\n");
}

HttpResponse NotFoundReply(const HttpRequest& req, const std::string& doc) {
  json body = {{"error", "not_found"}, {"message", "no document named " + json(doc).dump()}};
  return Reply(req, http::status::not_found, "application/json", body.dump() + "\n");
}

HttpResponse Timeout(const HttpRequest& req) {
  return ErrorReply(req, ErrorCode::kUnavailable, "the document did not answer in time");
}

// Authenticates `req` and checks `right` on `doc`; the refusal, if any.
std::optional<HttpResponse> Refuse(ServerContext& ctx, const HttpRequest& req,
                                   const Target& target, const std::string& doc, Right right,
                                   std::optional<Identity>* identity) {
  if (Status s = storage::ValidateDocName(doc); !s.ok()) {
    return ErrorReply(req, ErrorCode::kBadDocName, s.message());
  }
  RequestAuth auth = AuthenticateRequest(ctx, req, target);
  if (!auth.identity) {
    ctx.metrics->Rejected(static_cast<uint16_t>(auth.code));
    return ErrorReply(req, auth.code, auth.reason);
  }
  if (auth.identity->RightFor(doc) < right) {
    ctx.metrics->Rejected(static_cast<uint16_t>(ErrorCode::kForbidden));
    return ErrorReply(req, ErrorCode::kForbidden,
                      right == Right::kWrite ? "the token gives no right to write this document"
                                             : "the token gives no right to read this document");
  }
  *identity = std::move(auth.identity);
  return std::nullopt;
}

HttpResponse RoomError(ServerContext& ctx, const HttpRequest& req, const ErrorMsg& e) {
  ctx.metrics->Rejected(static_cast<uint16_t>(e.code));
  return ErrorReply(req, e.code, e.message);
}

Result<ot::Component> ComponentFromJson(const json& c) {
  if (c.is_number_unsigned() && c.get<uint64_t>() > 0) {
    return ot::Component::Retain(c.get<uint64_t>());
  }
  if (c.is_string() && !c.get_ref<const std::string&>().empty()) {
    return ot::Component::Insert(c.get_ref<const std::string&>());
  }
  if (c.is_object() && c.size() == 1 && c.contains("d")) {
    const json& d = c["d"];
    if (d.is_number_unsigned() && d.get<uint64_t>() > 0) {
      return ot::Component::Delete(d.get<uint64_t>());
    }
    if (d.is_string() && !d.get_ref<const std::string&>().empty()) {
      return ot::Component::Delete(utf8::CountCodePoints(d.get_ref<const std::string&>()));
    }
  }
  return InvalidArgument("an op component is a positive integer (retain), a non-empty string "
                         "(insert) or {\"d\": n} (delete); got " + c.dump().substr(0, 64));
}

}  // namespace

Result<ot::TextOp> OpFromJson(std::string_view text) {
  // nlohmann's parser is iterative and checks UTF-8 as it reads.
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return InvalidArgument("an op is a JSON array");
  std::vector<ot::Component> components;
  components.reserve(j.size());
  for (const json& c : j) {
    QUIRE_ASSIGN_OR_RETURN(ot::Component component, ComponentFromJson(c));
    components.push_back(std::move(component));
  }
  return ot::TextOp::FromComponents(std::move(components));
}

asio::awaitable<Result<uint64_t>> StoredHead(ServerContext& ctx, const std::string& doc) {
  using Answer = std::pair<Status, uint64_t>;
  auto read = [&ctx, doc]() -> asio::awaitable<Answer> {
    Result<storage::DocMeta> meta = ctx.store->GetMeta(doc);
    co_return meta.ok() ? Answer{Status::Ok(), meta->head_seq} : Answer{meta.status(), 0};
  };
  // GCC 12 mishandles non-trivial temporaries in a full-expression holding
  // co_await: the executor is a named local.
  const auto pool = ctx.loaders->get_executor();
  const Answer answer = co_await asio::co_spawn(pool, read, asio::use_awaitable);
  if (!answer.first.ok()) co_return answer.first;
  co_return answer.second;
}

asio::awaitable<HttpResponse> GetDocument(ServerContext& ctx, const HttpRequest& req,
                                          const Target& target, const std::string& doc) {
  std::optional<Identity> identity;
  if (auto refused = Refuse(ctx, req, target, doc, Right::kRead, &identity)) co_return *refused;
  Result<uint64_t> head = co_await StoredHead(ctx, doc);
  if (!head.ok() && head.status().code() == StatusCode::kNotFound) co_return NotFoundReply(req, doc);
  if (!head.ok()) co_return ErrorReply(req, ErrorCode::kUnavailable, head.status().message());

  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto listener = std::make_shared<RoomListener>(executor, ListenerCap(ctx));
  RoomMembership membership(ctx, doc);
  membership.Open(listener, /*seq=*/0, /*agent=*/0, identity->sub);
  const auto deadline = std::chrono::steady_clock::now() + kRoomDeadline;
  json body = {{"doc", doc}};
  for (;;) {
    std::optional<ServerMessage> m = co_await listener->Next(deadline);
    if (!m) break;
    if (const ErrorMsg* e = std::get_if<ErrorMsg>(&*m)) co_return RoomError(ctx, req, *e);
    if (const OpenedMsg* o = std::get_if<OpenedMsg>(&*m)) body["epoch"] = o->epoch;
    if (TextMsg* t = std::get_if<TextMsg>(&*m)) {
      body["seq"] = t->seq;
      body["text"] = std::move(t->text);
    }
    if (std::holds_alternative<SyncedMsg>(*m)) co_return JsonReply(req, body);
  }
  co_return Timeout(req);
}

asio::awaitable<HttpResponse> PostOps(ServerContext& ctx, const HttpRequest& req,
                                      const Target& target, const std::string& doc,
                                      const std::string& address) {
  std::optional<Identity> identity;
  if (auto refused = Refuse(ctx, req, target, doc, Right::kWrite, &identity)) co_return *refused;
  const json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("op") || !body.contains("base_seq") ||
      !body["base_seq"].is_number_unsigned()) {
    co_return ErrorReply(req, ErrorCode::kBadField,
                         "the body is {\"base_seq\": <seq the op was made at>, \"op\": [...]}");
  }
  Result<ot::TextOp> op = OpFromJson(body["op"].dump());
  if (!op.ok()) co_return ErrorReply(req, ErrorCode::kBadField, op.status().message());
  const uint64_t base_seq = body["base_seq"].get<uint64_t>();
  const std::string budget_key =
      identity->anonymous ? "anonymous@" + address : identity->sub;
  if (const int64_t wait_ms =
          ctx.budgets->For(budget_key, std::chrono::steady_clock::now())
              ->TryTake(req.body().size(), std::chrono::steady_clock::now());
      wait_ms > 0) {
    ctx.metrics->Rejected(static_cast<uint16_t>(ErrorCode::kRateLimited));
    HttpResponse res = ErrorReply(req, ErrorCode::kRateLimited,
                                  "over the user's edit budget; retry in " +
                                      std::to_string(wait_ms) + " ms");
    res.set(http::field::retry_after, std::to_string((wait_ms + 999) / 1000));
    co_return res;
  }
  Result<uint64_t> head = co_await StoredHead(ctx, doc);
  if (!head.ok() && head.status().code() != StatusCode::kNotFound) {
    co_return ErrorReply(req, ErrorCode::kUnavailable, head.status().message());
  }

  const auto started = std::chrono::steady_clock::now();
  const uint64_t agent = ctx.agents->ClaimHttpAgent(identity->sub);
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto listener = std::make_shared<RoomListener>(executor, ListenerCap(ctx));
  std::optional<HttpResponse> answer;
  {
    RoomMembership membership(ctx, doc);
    // Opened at the durable head: the catch-up (ignored) is short.
    membership.Open(listener, head.ok() ? *head : 0, agent, identity->sub);
    const auto deadline = std::chrono::steady_clock::now() + kRoomDeadline;
    while (!answer) {
      std::optional<ServerMessage> m = co_await listener->Next(deadline);
      if (!m) break;
      if (const ErrorMsg* e = std::get_if<ErrorMsg>(&*m)) {
        answer = RoomError(ctx, req, *e);
      } else if (const SyncedMsg* s = std::get_if<SyncedMsg>(&*m)) {
        membership.room().Op(listener, OpMsg{0, /*ref=*/1, base_seq, *op, s->agent_next});
      } else if (const AckMsg* a = std::get_if<AckMsg>(&*m)) {
        ctx.metrics->AckLatency(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        answer = JsonReply(req, json{{"doc", doc}, {"seq", a->seq}});
      }
    }
  }
  ctx.agents->ReleaseHttpAgent(identity->sub, agent);
  if (!answer) co_return Timeout(req);
  Log(LogLevel::kDebug, "http_op").Doc(doc).User(identity->sub).Int("status", answer->result_int());
  co_return std::move(*answer);
}

}  // namespace quire::server
