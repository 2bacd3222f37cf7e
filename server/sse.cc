#include "server/sse.h"

#include <array>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "server/api.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/room.h"
#include "server/room_listener.h"
#include "storage/store.h"

namespace quire::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kOpenDeadline = std::chrono::seconds(10);
// A write the client does not take in this long ends the stream.
constexpr auto kWriteDeadline = std::chrono::seconds(30);
// Events gathered into one write.
constexpr size_t kWriteBatchBytes = 64 << 10;

std::string Headers(const HttpRequest& req) {
  std::string h =
      "HTTP/1.1 200 OK\r\n"
      "Server: quire\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n";
  // The allow-list already passed (http.cc): let a browser page read it.
  if (auto origin = req.find(http::field::origin); origin != req.end()) {
    h += "Access-Control-Allow-Origin: " +
         std::string(origin->value().data(), origin->value().size()) + "\r\nVary: Origin\r\n";
  }
  // The body runs until the connection closes (RFC 9112, 6.3).
  return h + "\r\n";
}

// Counts an open stream in the metrics while it lives.
struct StreamGauge {
  explicit StreamGauge(Metrics* m) : m_(m) { m_->sse_streams.fetch_add(1); }
  ~StreamGauge() { m_->sse_streams.fetch_sub(1); }
  Metrics* m_;
};

asio::awaitable<bool> Write(beast::tcp_stream& stream, const std::string& bytes) {
  beast::error_code ec;
  stream.expires_after(kWriteDeadline);
  co_await asio::async_write(stream, asio::buffer(bytes),
                             asio::redirect_error(asio::use_awaitable, ec));
  stream.expires_never();
  co_return !ec;
}

std::string EndEvent(ErrorCode code, std::string_view message) {
  json data = {{"code", static_cast<int>(code)}, {"message", std::string(message)}};
  return "event: end\ndata: " + data.dump() + "\n\n";
}

std::optional<uint64_t> ParseSeq(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Where a stream resumes: Last-Event-ID first (what a reconnecting
// EventSource sends), then ?since=. 0 when neither: start with a snapshot.
std::optional<uint64_t> ResumeSeq(const HttpRequest& req, const Target& target) {
  if (auto it = req.find("Last-Event-ID"); it != req.end()) {
    return ParseSeq(std::string_view(it->value().data(), it->value().size()));
  }
  if (auto it = target.query.find("since"); it != target.query.end()) return ParseSeq(it->second);
  return 0;
}

struct DocStream {
  std::string doc;
  uint64_t epoch = 0;
  int64_t token_exp = 0;  // Unix seconds; 0: never.
};

// Appends the event for `m` to *out; false when the stream must end
// (an error from the room, whose `end` event is appended).
bool AppendEvent(const ServerMessage& m, DocStream& s, std::string* out) {
  if (const RemoteOpMsg* r = std::get_if<RemoteOpMsg>(&m)) {
    *out += PatchEvent(r->seq, r->op);
  } else if (const TextMsg* t = std::get_if<TextMsg>(&m)) {
    json data = {{"seq", t->seq}, {"epoch", s.epoch}, {"text", t->text}};
    *out += "event: snapshot\nid: " + std::to_string(t->seq) + "\ndata: " + data.dump() + "\n\n";
  } else if (const OpenedMsg* o = std::get_if<OpenedMsg>(&m)) {
    s.epoch = o->epoch;
  } else if (const ErrorMsg* e = std::get_if<ErrorMsg>(&m)) {
    *out += EndEvent(e->code, e->message);
    return false;
  }
  return true;
}

// The stream after its headers: events as they come, heartbeats between.
// (GCC 12 mishandles non-trivial temporaries in a full-expression holding
// co_await, so every awaited call here takes named locals.)
asio::awaitable<void> Pump(ServerContext& ctx, beast::tcp_stream& stream, RoomListener& listener,
                           DocStream& s, std::string& out) {
  for (;;) {
    if (!out.empty()) {
      if (!co_await Write(stream, out)) co_return;
      out.clear();
    }
    auto deadline = Clock::now() + ctx.options.sse_heartbeat;
    if (s.token_exp != 0) {
      const int64_t left_ms = (s.token_exp + ctx.options.auth.leeway.count()) * 1000 -
                              UnixSeconds() * 1000;
      deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(std::max<int64_t>(
                                                       left_ms, 0)));
    }
    std::optional<ServerMessage> m = co_await listener.Next(deadline);
    if (!m) {
      // Cut off (on_overflow closed the socket), or the consumer left.
      if (listener.overflowed() || listener.stopped()) co_return;
      if (listener.failed() || ctx.stopping.load()) {
        out = EndEvent(listener.failed() ? ErrorCode::kInternal : ErrorCode::kShuttingDown,
                       "the stream ends; reconnect with Last-Event-ID");
        co_await Write(stream, out);
        co_return;
      }
      if (s.token_exp != 0 && UnixSeconds() >= s.token_exp + ctx.options.auth.leeway.count()) {
        out = EndEvent(ErrorCode::kTokenExpired, "the token expired");
        co_await Write(stream, out);
        co_return;
      }
      out = ": heartbeat\n\n";
      continue;
    }
    // Gather what is already queued into one write.
    bool go_on = AppendEvent(*m, s, &out);
    while (go_on && out.size() < kWriteBatchBytes) {
      const Clock::time_point now = Clock::now();
      std::optional<ServerMessage> more = co_await listener.Next(now);
      if (!more) break;
      go_on = AppendEvent(*more, s, &out);
    }
    if (!go_on) {
      co_await Write(stream, out);
      co_return;
    }
  }
}

// The checks before a doc stream opens its room; the refusal, if any.
std::optional<HttpResponse> CheckDocStream(ServerContext& ctx, const HttpRequest& req,
                                           const Target& target, const std::string& doc,
                                           std::optional<Identity>* identity, uint64_t* since) {
  if (Status s = storage::ValidateDocName(doc); !s.ok()) {
    return ErrorReply(req, ErrorCode::kBadDocName, s.message());
  }
  RequestAuth auth = AuthenticateRequest(ctx, req, target);
  if (auth.identity && !auth.identity->CanRead(doc)) {
    auth = RequestAuth{std::nullopt, ErrorCode::kForbidden,
                       "the token gives no right to read this document"};
  }
  if (!auth.identity) {
    ctx.metrics->Rejected(static_cast<uint16_t>(auth.code));
    return ErrorReply(req, auth.code, auth.reason);
  }
  const std::optional<uint64_t> resume = ResumeSeq(req, target);
  if (!resume) return ErrorReply(req, ErrorCode::kBadField, "Last-Event-ID and since are a seq");
  *identity = std::move(auth.identity);
  *since = *resume;
  return std::nullopt;
}

HttpResponse HeadRefusal(const HttpRequest& req, const Status& s) {
  const bool missing = s.code() == StatusCode::kNotFound;
  json body = {{"error", missing ? "not_found" : "unavailable"}, {"message", s.message()}};
  return Reply(req, missing ? http::status::not_found : http::status::service_unavailable,
               "application/json", body.dump() + "\n");
}

}  // namespace

std::string PatchEvent(uint64_t seq, const ot::TextOp& op) {
  return "id: " + std::to_string(seq) + "\ndata: {\"seq\":" + std::to_string(seq) +
         ",\"op\":" + op.ToJson() + "}\n\n";
}

asio::awaitable<void> ServeDocEvents(ServerContext& ctx, beast::tcp_stream& stream,
                                     const HttpRequest& req, const Target& target,
                                     const std::string& doc) {
  beast::error_code ec;
  std::optional<HttpResponse> refusal;
  std::optional<Identity> identity;
  uint64_t since = 0;
  refusal = CheckDocStream(ctx, req, target, doc, &identity, &since);
  Result<uint64_t> head = uint64_t{0};
  if (!refusal) {
    head = co_await StoredHead(ctx, doc);
    if (!head.ok()) refusal = HeadRefusal(req, head.status());
  }
  if (refusal) {
    refusal->keep_alive(false);
    co_await http::async_write(stream, *refusal, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }

  // Cut off on overflow: closing the socket ends a write the consumer is
  // not taking. `alive` keeps it from touching a stream that is gone.
  auto alive = std::make_shared<bool>(true);
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto listener = std::make_shared<RoomListener>(
      executor, ctx.options.limits.max_queue_bytes, [&stream, &ctx, alive, doc] {
        if (!*alive) return;
        ctx.metrics->SseCutOff();
        Log(LogLevel::kInfo, "sse_cut_off").Doc(doc).Reason("slow consumer");
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
      });
  struct Dead {
    std::shared_ptr<bool> alive;
    ~Dead() { *alive = false; }
  } dead{alive};
  RoomMembership membership(ctx, doc);
  if (membership.room().users() > ctx.options.limits.max_clients_per_room) {
    ctx.metrics->Rejected(static_cast<uint16_t>(ErrorCode::kRoomFull));
    refusal = ErrorReply(req, ErrorCode::kRoomFull, "the document is full");
  } else {
    membership.Open(listener, since, /*agent=*/0, identity->sub);
  }
  // Nothing is sent before the room accepted the open: a bad seq is an
  // HTTP error, not an event.
  std::optional<ServerMessage> first;
  if (!refusal) {
    const Clock::time_point deadline = Clock::now() + kOpenDeadline;
    first = co_await listener->Next(deadline);
    if (!first || std::holds_alternative<ErrorMsg>(*first)) {
      const ErrorMsg e = first ? std::get<ErrorMsg>(*first)
                               : ErrorMsg{ErrorCode::kUnavailable, "the document did not open",
                                          std::nullopt, std::nullopt, std::nullopt};
      ctx.metrics->Rejected(static_cast<uint16_t>(e.code));
      refusal = ErrorReply(req, e.code, e.message);
    }
  }
  if (refusal) {
    refusal->keep_alive(false);
    co_await http::async_write(stream, *refusal, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  StreamGauge gauge(ctx.metrics);
  // A consumer sends nothing after its request: a read that completes
  // means it closed the connection (or broke the protocol), and the stream
  // ends at once rather than at its next heartbeat.
  auto peek = std::make_shared<std::array<char, 64>>();
  stream.socket().async_read_some(asio::buffer(*peek),
                                  [listener, alive, peek](const beast::error_code&, size_t) {
                                    if (*alive) listener->Stop();
                                  });
  DocStream s{doc, 0, identity->exp};
  std::string out = Headers(req) + "retry: 1000\n\n";
  AppendEvent(*first, s, &out);
  Log(LogLevel::kDebug, "sse_opened").Doc(doc).User(identity->sub).Int("since", static_cast<int64_t>(since));
  co_await Pump(ctx, stream, *listener, s, out);
}

asio::awaitable<void> ServeStatsEvents(ServerContext& ctx, beast::tcp_stream& stream,
                                       const HttpRequest& req) {
  StreamGauge gauge(ctx.metrics);
  std::string out = Headers(req) + "retry: 1000\n\n";
  if (!co_await Write(stream, out)) co_return;
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  asio::steady_timer tick(executor);
  auto before = ctx.metrics->ack_buckets().Snapshot();
  uint64_t acks_before = ctx.metrics->acks();
  auto at = Clock::now();
  while (!ctx.stopping.load()) {
    tick.expires_after(ctx.options.stats_interval);
    beast::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto now_buckets = ctx.metrics->ack_buckets().Snapshot();
    const uint64_t acks = ctx.metrics->acks();
    const auto now = Clock::now();
    const double seconds = std::max(1e-3, std::chrono::duration<double>(now - at).count());
    size_t active = 0, loaded = 0;
    for (const std::shared_ptr<Room>& r : ctx.rooms->All()) {
      ++loaded;
      if (r->users() > 0) ++active;
    }
    json sample = {
        {"time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()},
        {"connections", ctx.metrics->connections.load()},
        {"sessions", ctx.sessions.size()},
        {"sse_streams", ctx.metrics->sse_streams.load()},
        {"rooms", active},
        {"documents_loaded", loaded},
        {"edits_per_s", static_cast<double>(acks - acks_before) / seconds},
        {"ack_p50_ms", nullptr},
        {"ack_p99_ms", nullptr},
    };
    if (auto p50 = LatencyBuckets::QuantileMs(now_buckets, before, 0.5)) sample["ack_p50_ms"] = *p50;
    if (auto p99 = LatencyBuckets::QuantileMs(now_buckets, before, 0.99)) sample["ack_p99_ms"] = *p99;
    before = now_buckets;
    acks_before = acks;
    at = now;
    out = "data: " + sample.dump() + "\n\n";
    if (!co_await Write(stream, out)) co_return;
  }
}

}  // namespace quire::server
