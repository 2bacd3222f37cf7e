#include "server/session.h"

#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>

#include "server/log.h"
#include "server/room.h"
#include "storage/store.h"

namespace quire::server {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// Protocol errors (codes 100-299) a session may earn per minute.
constexpr size_t kMaxViolations = 20;
constexpr auto kViolationWindow = std::chrono::minutes(1);

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

Session::Session(ServerContext& ctx, beast::tcp_stream stream, Handshake handshake)
    : ctx_(ctx),
      id_(ctx.next_session_id.fetch_add(1)),
      ws_(stream.release_socket()),
      ping_timer_(ws_.get_executor()),
      guard_timer_(ws_.get_executor()),
      guard_(ctx, id_, std::move(handshake), std::chrono::steady_clock::now()),
      meter_(ctx.metrics) {}

Session::~Session() = default;

void Session::Start(Request request) {
  asio::co_spawn(
      ws_.get_executor(),
      [self = shared_from_this(), request = std::move(request)]() mutable {
        return self->Run(std::move(request));
      },
      asio::detached);
}

asio::awaitable<void> Session::Run(Request request) {
  std::shared_ptr<Session> self = shared_from_this();  // Alive until the loop ends.
  ws_.set_option(websocket::stream_base::timeout{ctx_.options.handshake_timeout,
                                                 websocket::stream_base::none(), false});
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "quire"); }));
  ws_.read_message_max(ctx_.options.limits.max_frame);
  ws_.auto_fragment(false);
  ws_.binary(true);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) missed_pongs_ = 0;
  });

  beast::error_code ec;
  co_await ws_.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  request = Request();  // Its headers are not needed again.
  if (ec) {
    Ended();
    co_return;
  }
  ctx_.sessions.Add(id_, weak_from_this());
  StartPings();
  ArmGuard();
  for (;;) {
    // A message that fits small_ is handled from it; one that does not is
    // gathered in large_ (Beast's message size limit bounds it).
    const size_t n = co_await ws_.async_read_some(asio::buffer(small_),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    std::string_view message(small_.data(), n);
    if (!ws_.is_message_done() || large_.size() > 0) {
      auto out = large_.prepare(n);
      std::memcpy(out.data(), small_.data(), n);
      large_.commit(n);
      while (!ws_.is_message_done()) {
        co_await ws_.async_read_some(large_, 0, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      if (ec) break;
      message = std::string_view(static_cast<const char*>(large_.cdata().data()), large_.size());
    }
    missed_pongs_ = 0;
    if (!ws_.got_binary()) {
      SendError(ProtocolError{ErrorCode::kTextFrame, "text messages are not part of the protocol",
                              std::nullopt, std::nullopt},
                std::nullopt);
    } else {
      Handle(message);
    }
    if (large_.capacity() > 0) large_ = beast::flat_buffer();
  }
  Ended();
}

void Session::Ended() {
  if (ended_) return;
  ended_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    catch_up_bytes_ = 0;
  }
  ping_timer_.cancel();
  guard_timer_.cancel();
  if (hello_done_) {
    Log(LogLevel::kInfo, "session_closed")
        .Session(id_)
        .User(user_)
        .Ip(guard_.address())
        .Code(closed_with_ ? static_cast<int>(*closed_with_) : ws_.reason().code);
  }
  std::shared_ptr<Session> self = shared_from_this();
  std::vector<Room*> left;
  for (Channel& c : channels_) {
    if (std::find(left.begin(), left.end(), c.room.get()) == left.end()) {
      c.room->Leave(self);
      left.push_back(c.room.get());
    }
    ctx_.rooms->Release(c.room);
  }
  channels_.clear();
  if (agent_ != 0) ctx_.agents->Release(agent_, id_);
  ctx_.sessions.Remove(id_);
}

// ---- Reading ----

void Session::Handle(std::string_view bytes) {
  ClientMessage msg;
  if (std::optional<ProtocolError> err = DecodeClientMessage(bytes, &msg)) {
    meter_.Received(255, bytes.size());  // Counted as "other".
    SendError(*err, std::nullopt);
    return;
  }
  meter_.Received(static_cast<uint8_t>(bytes[1]), bytes.size());  // A valid message's type.
  message_bytes_ = bytes.size();
  if (!std::holds_alternative<PingMsg>(msg) && !std::holds_alternative<PongMsg>(msg)) {
    guard_.Activity(std::chrono::steady_clock::now());
  }
  if (!hello_done_ && !std::holds_alternative<HelloMsg>(msg)) {
    SendError(ProtocolError{ErrorCode::kHelloFirst, "the first message must be hello",
                            std::nullopt, std::nullopt},
              std::nullopt);
    return CloseAfterFlush(CloseCode::kHello);
  }
  std::visit(Overloaded{
                 [this](HelloMsg& m) { OnHello(m); },
                 [this](OpenMsg& m) { OnOpen(m); },
                 [this](CloseMsg& m) { OnClose(m); },
                 [this](ChangeMsg& m) { OnChange(m); },
                 [this](OpMsg& m) { OnOp(m); },
                 [this](PingMsg& m) { Send(PongFrame(m.nonce)); },
                 [](PongMsg&) {},
                 [this](PresenceSetMsg& m) { OnPresence(m); },
                 [this](BroadcastMsg& m) { OnBroadcast(m); },
                 [this](RefreshMsg& m) { OnRefresh(m); },
             },
             msg);
}

void Session::OnHello(HelloMsg& hello) {
  if (hello_done_) {
    SendError(ProtocolError{ErrorCode::kHelloFirst, "hello was already sent", std::nullopt,
                            std::nullopt},
              std::nullopt);
    return CloseAfterFlush(CloseCode::kHello);
  }
  if (hello.version != kProtocolVersion) {
    SendError(ProtocolError{ErrorCode::kVersion,
                            "protocol version " + std::to_string(hello.version) +
                                " is not supported; this server speaks 1",
                            std::nullopt, std::nullopt},
              std::nullopt);
    return CloseAfterFlush(CloseCode::kVersion);
  }
  if (std::optional<Refusal> refusal = guard_.OnHello(hello, UnixMs() / 1000)) {
    SendError(refusal->error, std::nullopt);
    return CloseAfterFlush(refusal->close);
  }
  hello_done_ = true;
  user_ = guard_.identity().sub;
  name_ = guard_.identity().name;
  Log(LogLevel::kInfo, "session_opened").Session(id_).User(user_).Ip(guard_.address());
  ArmGuard();  // Now the token's expiry and the idle deadline.
  if (hello.agent && ctx_.agents->CheckTicket(hello.agent->agent, user_, hello.agent->ticket)) {
    agent_ = hello.agent->agent;
  } else {
    agent_ = ctx_.agents->NewAgent();
  }
  if (const uint64_t previous = ctx_.agents->Claim(agent_, id_); previous != 0) {
    if (std::shared_ptr<Session> other = ctx_.sessions.Get(previous)) {
      other->CloseAfterFlush(CloseCode::kReplaced);
    }
  }
  WelcomeMsg w;
  w.session = id_;
  w.user = user_;
  w.name = name_;
  w.agent = agent_;
  w.ticket = ctx_.agents->Ticket(agent_, user_);
  w.ping_ms = static_cast<uint64_t>(ctx_.options.ping_interval.count());
  w.max_frame = ctx_.options.limits.max_frame;
  w.max_doc_bytes = ctx_.options.limits.max_doc_bytes;
  w.max_open_docs = ctx_.options.limits.max_open_docs;
  w.max_queue = ctx_.options.limits.max_queue_bytes;
  w.server = "quire/0.1";
  Send(WelcomeFrame(w));
}

Session::Channel* Session::FindChannel(uint16_t channel) {
  for (Channel& c : channels_) {
    if (c.channel == channel) return &c;
  }
  return nullptr;
}

void Session::OnOpen(OpenMsg& open) {
  auto refuse = [&](ErrorCode code, std::string message) {
    SendError(ProtocolError{code, std::move(message), open.channel, std::nullopt}, std::nullopt);
  };
  if (!accepting_) return refuse(ErrorCode::kShuttingDown, "the server is shutting down");
  if (FindChannel(open.channel) != nullptr) {
    return refuse(ErrorCode::kChannelInUse, "channel " + std::to_string(open.channel) + " is open");
  }
  if (channels_.size() >= ctx_.options.limits.max_open_docs) {
    return refuse(ErrorCode::kTooManyDocs,
                  "at most " + std::to_string(ctx_.options.limits.max_open_docs) +
                      " documents may be open at once");
  }
  if (Status s = storage::ValidateDocName(open.doc); !s.ok()) {
    return refuse(ErrorCode::kBadDocName, s.message());
  }
  if (std::optional<ProtocolError> e = guard_.CheckOpen(open)) return SendError(*e, std::nullopt);
  std::shared_ptr<Room> room = ctx_.rooms->Acquire(open.doc);
  if (room->users() > ctx_.options.limits.max_clients_per_room) {
    ctx_.rooms->Release(room);
    return refuse(ErrorCode::kRoomFull,
                  "the document has " + std::to_string(ctx_.options.limits.max_clients_per_room) +
                      " clients, as many as allowed");
  }
  channels_.push_back(Channel{open.channel, room, open.mode});
  room->Open(MemberInfo{shared_from_this(), open.channel, open.mode, crdt::AgentId{agent_}, user_,
                        id_, name_},
             std::move(open));
}

void Session::OnClose(const CloseMsg& close) {
  auto it = std::find_if(channels_.begin(), channels_.end(),
                         [&](const Channel& c) { return c.channel == close.channel; });
  if (it == channels_.end()) {
    return SendError(ProtocolError{ErrorCode::kUnknownChannel, "unknown channel", close.channel,
                                   std::nullopt},
                     std::nullopt);
  }
  it->room->Close(shared_from_this(), close.channel);
  ctx_.rooms->Release(it->room);
  channels_.erase(it);
}

void Session::OnChange(ChangeMsg& msg) {
  Channel* c = FindChannel(msg.channel);
  if (c == nullptr || !accepting_) {
    return SendError(
        ProtocolError{c == nullptr ? ErrorCode::kUnknownChannel : ErrorCode::kShuttingDown,
                      c == nullptr ? "unknown channel" : "the server is shutting down",
                      msg.channel, msg.ref},
        std::nullopt);
  }
  if (RefuseWrite(c->room->name(), msg.channel, msg.ref)) return;
  c->room->Change(shared_from_this(), std::move(msg));
}

void Session::OnOp(OpMsg& msg) {
  Channel* c = FindChannel(msg.channel);
  if (c == nullptr || !accepting_) {
    return SendError(
        ProtocolError{c == nullptr ? ErrorCode::kUnknownChannel : ErrorCode::kShuttingDown,
                      c == nullptr ? "unknown channel" : "the server is shutting down",
                      msg.channel, msg.ref},
        std::nullopt);
  }
  if (RefuseWrite(c->room->name(), msg.channel, msg.ref)) return;
  c->room->Op(shared_from_this(), std::move(msg));
}

void Session::OnPresence(PresenceSetMsg& msg) {
  Channel* c = FindChannel(msg.channel);
  if (c == nullptr) {
    return SendError(ProtocolError{ErrorCode::kUnknownChannel, "unknown channel", msg.channel,
                                   std::nullopt},
                     std::nullopt);
  }
  c->room->SetPresence(shared_from_this(), std::move(msg));
}

void Session::OnBroadcast(BroadcastMsg& msg) {
  Channel* c = FindChannel(msg.channel);
  if (c == nullptr) {
    return SendError(ProtocolError{ErrorCode::kUnknownChannel, "unknown channel", msg.channel,
                                   std::nullopt},
                     std::nullopt);
  }
  c->room->Broadcast(shared_from_this(), std::move(msg));
}

void Session::StopAccepting(std::function<void()> done) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), done = std::move(done)] {
    self->accepting_ = false;
    done();
  });
}

// ---- Tokens, limits and deadlines ----

bool Session::RefuseWrite(const std::string& doc, uint16_t channel, uint64_t ref) {
  if (std::optional<ProtocolError> e =
          guard_.CheckWrite(doc, channel, ref, message_bytes_, std::chrono::steady_clock::now())) {
    if (e->code == ErrorCode::kRateLimited) {
      Log(LogLevel::kDebug, "rate_limited").Session(id_).User(user_).Doc(doc).Code(402);
    }
    SendError(*e, std::nullopt);
    return true;
  }
  meter_.EditArrived(channel, ref);
  return false;
}

void Session::OnRefresh(const RefreshMsg& msg) {
  int64_t exp_s = 0;
  if (std::optional<Refusal> refusal = guard_.OnRefresh(msg, UnixMs() / 1000, &exp_s)) {
    SendError(refusal->error, std::nullopt);
    return CloseAfterFlush(refusal->close);
  }
  // The new token may read less: its documents close (302).
  for (auto it = channels_.begin(); it != channels_.end();) {
    if (guard_.CanRead(it->room->name())) {
      ++it;
      continue;
    }
    SendError(ProtocolError{ErrorCode::kForbidden, "the refreshed token cannot read this document",
                            it->channel, std::nullopt},
              std::nullopt);
    it->room->Close(shared_from_this(), it->channel);
    ctx_.rooms->Release(it->room);
    it = channels_.erase(it);
  }
  Send(RefreshedFrame(static_cast<uint64_t>(exp_s)));
  ArmGuard();
}

void Session::ArmGuard() {
  std::chrono::steady_clock::time_point next;
  if (guard_.Check(std::chrono::steady_clock::now(), UnixMs(), &next) !=
      SessionGuard::Due::kNothing) {
    next = std::chrono::steady_clock::now();
  }
  guard_timer_.expires_at(next);
  guard_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->OnGuard();
  });
}

void Session::OnGuard() {
  if (ended_ || closing_) return;
  std::chrono::steady_clock::time_point next;
  switch (guard_.Check(std::chrono::steady_clock::now(), UnixMs(), &next)) {
    case SessionGuard::Due::kNothing:
      return ArmGuard();
    case SessionGuard::Due::kHello:
      SendError(ProtocolError{ErrorCode::kHelloFirst, "no hello in time", std::nullopt,
                              std::nullopt},
                std::nullopt);
      return CloseAfterFlush(CloseCode::kHello);
    case SessionGuard::Due::kTokenExpired:
      Log(LogLevel::kInfo, "token_expired").Session(id_).User(user_).Code(301);
      SendError(ProtocolError{ErrorCode::kTokenExpired, "the session's token expired",
                              std::nullopt, std::nullopt},
                std::nullopt);
      return CloseAfterFlush(CloseCode::kTokenExpired);
    case SessionGuard::Due::kIdle:
      return CloseAfterFlush(CloseCode::kIdle);
  }
}

// ---- Liveness and violations ----

void Session::StartPings() {
  ping_timer_.expires_after(ctx_.options.ping_interval);
  ping_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->ended_ || self->closing_) return;
    if (!self->hello_done_) return self->CloseNow(CloseCode::kHello);
    if (++self->missed_pongs_ > 2) return self->CloseNow(CloseCode::kPingTimeout);
    self->ws_.async_ping({}, [](const boost::system::error_code&) {});
    self->StartPings();
  });
}

void Session::CountViolation() {
  const auto now = std::chrono::steady_clock::now();
  violations_.push_back(now);
  std::erase_if(violations_, [&](auto t) { return now - t > kViolationWindow; });
  if (violations_.size() > kMaxViolations) CloseAfterFlush(CloseCode::kViolations);
}

// ---- Writing ----

void Session::Send(Frame frame) {
  std::unique_lock<std::mutex> lock(mu_);
  if (dead_) return;
  meter_.Sent(frame);
  (frame.catch_up ? catch_up_bytes_ : queued_bytes_) += frame.size();
  // A catch-up may be as large as a document; past that, or past the cap
  // for everything else, the client is not reading.
  if (queued_bytes_ > ctx_.options.limits.max_queue_bytes ||
      catch_up_bytes_ > ctx_.options.limits.max_doc_bytes + ctx_.options.limits.max_queue_bytes) {
    // A slow reader: drop what waits and close, so the room never waits.
    dead_ = true;
    queue_.clear();
    lock.unlock();
    asio::post(ws_.get_executor(),
               [self = shared_from_this()] { self->CloseNow(CloseCode::kSlowReader); });
    return;
  }
  queue_.push_back(std::move(frame));
  if (!flushing_) {
    flushing_ = true;
    lock.unlock();
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Flush(); });
  }
}

void Session::SendError(const ProtocolError& error, std::optional<uint64_t> epoch) {
  Send(ErrorFrame(error, epoch));
  const auto code = static_cast<uint16_t>(error.code);
  meter_.Refused(code, error.channel, error.ref);
  if (code >= 100 && code < 300) {
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->CountViolation(); });
  }
}

void Session::Fail() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->SendError(ProtocolError{ErrorCode::kInternal, "the document failed on the server",
                                  std::nullopt, std::nullopt},
                    std::nullopt);
    self->CloseAfterFlush(CloseCode::kInternal);
  });
}

void Session::CloseAfterFlush(CloseCode code) {
  std::unique_lock<std::mutex> lock(mu_);
  if (dead_ || close_after_flush_) return;
  close_after_flush_ = code;
  if (!flushing_) {
    flushing_ = true;
    lock.unlock();
    asio::post(ws_.get_executor(), [self = shared_from_this()] { self->Flush(); });
  }
}

void Session::Flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty() || dead_) {
      flushing_ = false;
      if (close_after_flush_ && !dead_) {
        const CloseCode code = *close_after_flush_;
        asio::post(ws_.get_executor(), [self = shared_from_this(), code] { self->CloseNow(code); });
      }
      return;
    }
    writing_.swap(queue_);
  }
  buffers_.clear();
  size_t messages = 0;
  for (const Frame& f : writing_) messages += f.messages;
  if (messages > 1) {
    batch_head_ = BatchHead(messages);
    buffers_.push_back(asio::buffer(batch_head_));
  }
  for (const Frame& f : writing_) {
    if (f.head_len > 0) buffers_.push_back(asio::buffer(f.head.data(), f.head_len));
    const std::string_view body = f.Body();
    if (!body.empty()) buffers_.push_back(asio::buffer(body.data(), body.size()));
  }
  ws_.async_write(buffers_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t bytes) { self->OnWrite(ec, bytes); });
}

void Session::OnWrite(const boost::system::error_code& ec, size_t) {
  size_t written = 0, caught_up = 0;
  for (const Frame& f : writing_) (f.catch_up ? caught_up : written) += f.size();
  writing_.clear();
  if (writing_.capacity() > 256) writing_.shrink_to_fit();
  if (ec) {
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    queue_.clear();
    flushing_ = false;
    return;  // The read fails too and ends the session.
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued_bytes_ -= std::min(queued_bytes_, written);
    catch_up_bytes_ -= std::min(catch_up_bytes_, caught_up);
  }
  Flush();
}

void Session::CloseNow(CloseCode code) {
  if (closing_ || ended_) return;
  closing_ = true;
  closed_with_ = code;
  if (ctx_.metrics) ctx_.metrics->Closed(static_cast<uint16_t>(code));
  {
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    queue_.clear();
  }
  ping_timer_.cancel();
  guard_timer_.cancel();
  if (code == CloseCode::kPingTimeout) {
    // Nobody is there to read a close frame.
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
    return;
  }
  ws_.async_close(websocket::close_reason(static_cast<uint16_t>(code)),
                  [self = shared_from_this()](const boost::system::error_code&) {});
}

}  // namespace quire::server
