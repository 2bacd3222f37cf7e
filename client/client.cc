#include "client/client.h"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/utf8.h"
#include "client/client_impl.h"

namespace quire::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

Client::Impl::Impl(asio::io_context& io_context, ClientOptions opts)
    : io(io_context),
      options(std::move(opts)),
      strand(asio::make_strand(io_context)),
      retry(strand),
      heartbeat(strand),
      edit_retry(strand),
      rng(options.seed != 0 ? options.seed : std::random_device{}()) {}

Doc* Client::Impl::ByChannel(uint16_t channel) {
  auto it = docs.find(channel);
  return it == docs.end() ? nullptr : &it->second;
}

DocStatus Client::Impl::StatusOf(const Doc& d) const {
  DocStatus s;
  s.pending = d.Pending();
  s.acked_ops = d.acked;
  s.synced = d.synced && s.pending == 0 && state == ConnectionState::kConnected;
  s.stale = d.stale;
  s.epoch = d.epoch;
  s.seq = d.seq;
  s.last_error = d.last_error;
  return s;
}

std::chrono::milliseconds Client::Impl::NextBackoff() {
  // Full jitter: uniform in [0, min(max, min * 2^attempt)].
  const int64_t base = options.backoff_min.count();
  int64_t cap = base;
  for (int i = 0; i < attempt && cap < options.backoff_max.count(); ++i) cap *= 2;
  cap = std::min<int64_t>(cap, options.backoff_max.count());
  ++attempt;
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, cap)(rng));
}

// ---- The connection loop ----

asio::awaitable<void> Client::Impl::Run() {
  auto self = shared_from_this();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) break;
      state = ConnectionState::kConnecting;
    }
    cv.notify_all();
    const bool connected = co_await Connect();
    bool stop_now;
    {
      std::lock_guard<std::mutex> lock(mu);
      stop_now = stopping;
    }
    if (connected && stop_now) {
      beast::error_code ignored;
      co_await ws->async_close(websocket::close_code::normal,
                               asio::redirect_error(asio::use_awaitable, ignored));
    } else if (connected) {
      beast::error_code ec;
      for (;;) {
        read_buffer.consume(read_buffer.size());
        co_await ws->async_read(read_buffer, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        std::vector<std::function<void()>> calls;
        const auto data = read_buffer.cdata();
        OnFrame(std::string_view(static_cast<const char*>(data.data()), data.size()), &calls);
        cv.notify_all();
        for (auto& call : calls) call();
      }
    }
    Offline();
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) break;
    }
    retry.expires_after(NextBackoff());
    beast::error_code ec;
    co_await retry.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    state = ConnectionState::kStopped;
    running = false;
  }
  cv.notify_all();
}

asio::awaitable<bool> Client::Impl::Connect() {
  beast::error_code ec;
  ++generation;
  out.clear();
  writing = false;
  ws = std::make_unique<Socket>(strand);
  tcp::resolver resolver(strand);
  auto endpoints = co_await resolver.async_resolve(options.host, std::to_string(options.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
  co_await beast::get_lowest_layer(*ws).async_connect(endpoints,
                                                      asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true), ec);
  beast::get_lowest_layer(*ws).expires_never();
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws->read_message_max(options.max_frame);
  ws->binary(true);
  std::string target = options.path;
  co_await ws->async_handshake(options.host + ":" + std::to_string(options.port), target,
                               asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  server::HelloMsg hello;
  hello.name = options.name;
  hello.token = options.token;
  hello.client = "quire-cpp/0.1";
  {
    std::lock_guard<std::mutex> lock(mu);
    if (agent != 0) hello.agent = server::AgentTicket{agent, ticket};
  }
  SendMessage(hello);
  co_return true;
}

void Client::Impl::Offline() {
  heartbeat.cancel();  // Restarted by the next welcome.
  ws.reset();
  out.clear();
  writing = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    state = stopping ? ConnectionState::kStopped : ConnectionState::kOffline;
    for (auto& [channel, d] : docs) {
      d.synced = false;
      d.sent = d.acked;  // Resend whatever was not acked.
      d.unacked.clear();
      d.inflight_sent = false;
      d.peers.clear();  // The snapshot after the next `synced` says who is there.
      d.peer_anchors.clear();
    }
  }
  cv.notify_all();
}

// ---- Writing ----

void Client::Impl::SendMessage(const server::ClientMessage& m) {
  if (!ws) return;
  out.push_back(server::EncodeClientMessage(m));
  if (!writing) WriteNext();
}

void Client::Impl::WriteNext() {
  if (out.empty() || !ws) {
    writing = false;
    return;
  }
  writing = true;
  ws->async_write(asio::buffer(out.front()),
                  [self = shared_from_this(), gen = generation](beast::error_code ec, size_t) {
                    if (gen != self->generation) return;
                    if (ec) {
                      self->writing = false;
                      return;  // The read fails too and reconnects.
                    }
                    self->out.pop_front();
                    self->WriteNext();
                  });
}

// ---- Reading ----

void Client::Impl::OnFrame(std::string_view bytes, std::vector<std::function<void()>>* calls) {
  Result<std::vector<server::ServerMessage>> msgs = server::DecodeServerFrame(bytes);
  if (!msgs.ok()) return;  // A server bug; nothing sensible to do but ignore it.
  std::lock_guard<std::mutex> lock(mu);
  for (server::ServerMessage& m : *msgs) Handle(m, calls);
}

void Client::Impl::OnWelcome(const server::WelcomeMsg& w) {
  attempt = 0;
  if (agent != 0 && w.agent != agent) {
    // The server did not take our ticket (its key changed): unacked CRDT
    // ops of the old agent cannot be sent any more. Start new edits as
    // the new agent; what the old one did stays in the replicas.
    for (auto& [channel, d] : docs) {
      if (d.crdt) {
        Result<crdt::TextDoc> copy = crdt::TextDoc::Decode(d.crdt->Encode(), crdt::AgentId{w.agent});
        if (copy.ok()) d.crdt = std::move(*copy);
        d.acked = d.sent = d.crdt->NextSeq(crdt::AgentId{w.agent});
      }
    }
  }
  agent = w.agent;
  ticket = w.ticket;
  session = w.session;
  state = ConnectionState::kConnected;
  StartHeartbeat();
  for (auto& [channel, d] : docs) {
    if (d.mode == Mode::kCrdt && !d.crdt) d.crdt.emplace(crdt::AgentId{agent});
    SendOpen(d);
  }
  if (!options.state_file.empty()) (void)SaveLocked();
}

void Client::Impl::SendOpen(Doc& d) {
  server::OpenMsg open;
  open.channel = d.channel;
  open.doc = d.name;
  open.mode = d.mode;
  open.epoch = d.epoch;
  if (d.mode == Mode::kCrdt) {
    if (d.crdt) open.version = d.crdt->GetVersion();
  } else {
    open.seq = d.seq;
  }
  SendMessage(open);
}

void Client::Impl::Handle(server::ServerMessage& msg, std::vector<std::function<void()>>* calls) {
  using namespace server;
  std::visit(
      Overloaded{
          [&](WelcomeMsg& w) { OnWelcome(w); },
          [&](ErrorMsg& e) {
            if (e.code == ErrorCode::kUnauthorized || e.code == ErrorCode::kTokenExpired) {
              // Reconnecting with the same token would only be refused
              // again: stop until the application starts again.
              refused = e;
              stopping = true;
              return;
            }
            Doc* d = e.channel ? ByChannel(*e.channel) : nullptr;
            if (d == nullptr) return;
            d->last_error = e;
            if (e.code == ErrorCode::kStaleEpoch) d->stale = true;
            if (e.code == ErrorCode::kRateLimited && e.ref) {
              // Over the user's budget: the edit is fine, send it later.
              if (d->mode == Mode::kOt && d->inflight && *e.ref == d->inflight_ref) {
                d->inflight_sent = false;
              } else if (d->mode == Mode::kCrdt) {
                d->sent = d->acked;
                d->unacked.clear();
              }
              RetryEditsLater();
            } else if (d->mode == Mode::kOt && d->inflight && e.ref == d->inflight_ref) {
              // Refused: the op will never land. Drop it (the text keeps it
              // locally, so the application must reload).
              d->inflight.reset();
              d->inflight_agent_seq.reset();
              d->inflight_sent = false;
            }
            if (d->callbacks.on_error) calls->push_back([cb = d->callbacks.on_error, e] { cb(e); });
          },
          [&](PingMsg& p) { SendMessage(PongMsg{p.nonce}); },
          [&](PongMsg&) {},
          [&](RefreshedMsg&) {},
          [&](OpenedMsg& o) {
            if (Doc* d = ByChannel(o.channel)) d->epoch = o.epoch;
          },
          [&](SnapshotMsg& s) {
            Doc* d = ByChannel(s.channel);
            if (d == nullptr || d->mode != Mode::kCrdt) return;
            Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(s.bytes, crdt::AgentId{agent});
            if (!doc.ok()) return;
            ot::TextOp patch;
            patch.Insert(doc->Text());
            d->crdt = std::move(*doc);
            d->seq = s.seq;
            if (d->callbacks.on_remote) {
              calls->push_back([cb = d->callbacks.on_remote, patch, seq = s.seq] { cb(patch, seq); });
            }
          },
          [&](TextMsg& t) {
            Doc* d = ByChannel(t.channel);
            if (d == nullptr || d->mode != Mode::kOt) return;
            d->text = std::move(t.text);
            d->seq = t.seq;
          },
          [&](SyncedMsg& s) {
            Doc* d = ByChannel(s.channel);
            if (d == nullptr) return;
            d->seq = std::max(d->seq, s.seq);
            d->synced = true;
            d->agent_next = s.agent_next;
            if (d->mode == Mode::kCrdt) {
              FlushCrdt(*d);
            } else {
              SendInflight(*d);
            }
            SendPresence(*d);
            if (d->callbacks.on_synced) calls->push_back(d->callbacks.on_synced);
          },
          [&](AckMsg& a) {
            Doc* d = ByChannel(a.channel);
            if (d == nullptr) return;
            if (d->mode == Mode::kCrdt) {
              while (!d->unacked.empty() && d->unacked.front().first <= a.ref) {
                d->acked = std::max(d->acked, d->unacked.front().second);
                d->unacked.pop_front();
              }
            } else if (d->inflight && d->inflight_ref == a.ref) {
              OnOtAck(*d, a.seq, a.agent_next);
            }
            d->seq = std::max(d->seq, a.seq);
            if (d->callbacks.on_ack) {
              calls->push_back([cb = d->callbacks.on_ack, ref = a.ref, seq = a.seq] { cb(ref, seq); });
            }
          },
          [&](RemoteChangeMsg& r) {
            Doc* d = ByChannel(r.channel);
            if (d == nullptr || !d->crdt) return;
            Result<ot::TextOp> patch = d->crdt->Apply(r.change);
            d->seq = std::max(d->seq, r.seq);
            if (patch.ok() && !patch->IsNoop() && d->callbacks.on_remote) {
              calls->push_back([cb = d->callbacks.on_remote, p = std::move(*patch), seq = r.seq] {
                cb(p, seq);
              });
            }
          },
          [&](RemoteOpMsg& r) {
            Doc* d = ByChannel(r.channel);
            if (d == nullptr || d->mode != Mode::kOt) return;
            if (d->inflight && d->inflight_agent_seq && r.origin.agent.value == agent &&
                r.origin.seq == *d->inflight_agent_seq) {
              // Our own op, accepted before the connection dropped. The
              // `synced` that ends the catch-up brings the agent's next seq.
              OnOtAck(*d, r.seq, d->agent_next);
              return;
            }
            ot::TextOp remote = std::move(r.op);
            if (d->inflight) ot::TransformX(&*d->inflight, &remote);
            if (d->buffer) ot::TransformX(&*d->buffer, &remote);
            Result<std::string> text = ot::Apply(d->text, remote);
            if (!text.ok()) return;
            const size_t length_before = utf8::CountCodePoints(d->text);
            d->text = std::move(*text);
            MovePositions(*d, remote, length_before);
            d->seq = r.seq;
            if (d->callbacks.on_remote) {
              calls->push_back([cb = d->callbacks.on_remote, remote, seq = r.seq] { cb(remote, seq); });
            }
          },
          [&](PresenceMsg& p) {
            if (Doc* d = ByChannel(p.channel)) OnPresence(*d, p, calls);
          },
          [&](BroadcastedMsg& b) {
            Doc* d = ByChannel(b.channel);
            if (d != nullptr && d->callbacks.on_broadcast) {
              calls->push_back([cb = d->callbacks.on_broadcast, b] { cb(b.session, b.payload); });
            }
          },
          [&](NeedMsg& n) {
            Doc* d = ByChannel(n.channel);
            if (d == nullptr || !d->crdt) return;
            d->sent = std::min(d->sent, n.version.Get(crdt::AgentId{agent}));
            d->unacked.clear();
            FlushCrdt(*d);
          },
      },
      msg);
}

void Client::Impl::RetryEditsLater() {
  if (edit_retry_armed) return;
  edit_retry_armed = true;
  edit_retry.expires_after(std::chrono::seconds(1));
  edit_retry.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->edit_retry_armed = false;
    if (ec) return;
    std::lock_guard<std::mutex> lock(self->mu);
    for (auto& [channel, d] : self->docs) {
      d.mode == Mode::kCrdt ? self->FlushCrdt(d) : self->SendInflight(d);
    }
  });
}

void Client::Impl::OnOtAck(Doc& d, uint64_t seq, uint64_t agent_next) {
  d.inflight.reset();
  d.inflight_agent_seq.reset();
  d.inflight_sent = false;
  d.seq = std::max(d.seq, seq);
  d.agent_next = agent_next;
  if (d.buffer) {
    d.inflight = std::move(d.buffer);
    d.buffer.reset();
    d.inflight_ref = next_ref++;
    SendInflight(d);
  }
  if (!options.state_file.empty()) (void)SaveLocked();
}

// ---- Sending edits ----

void Client::Impl::FlushCrdt(Doc& d) {
  if (!ws || state != ConnectionState::kConnected || !d.synced || !d.crdt) return;
  const crdt::AgentId me{agent};
  if (d.crdt->NextSeq(me) <= d.sent) return;
  crdt::Version v = d.crdt->GetVersion();
  v.Set(me, d.sent);
  for (crdt::Change& c : d.crdt->ChangesSince(v)) {
    if (c.id.agent != me) continue;  // Only our own ops are ours to send.
    const uint64_t ref = next_ref++;
    const uint64_t end = c.id.seq + c.Length();
    d.unacked.emplace_back(ref, end);
    d.sent = std::max(d.sent, end);
    SendMessage(server::ChangeMsg{d.channel, ref, std::move(c), {}});
  }
}

void Client::Impl::SendInflight(Doc& d) {
  if (!ws || state != ConnectionState::kConnected || !d.synced || !d.inflight ||
      d.inflight_sent) {
    return;
  }
  // A resend keeps the agent seq of the first send: if the op had landed,
  // the catch-up would have shown it (and `synced` brought agent_next past it).
  if (!d.inflight_agent_seq) d.inflight_agent_seq = d.agent_next;
  d.inflight_sent = true;
  server::OpMsg op;
  op.channel = d.channel;
  op.ref = d.inflight_ref;
  op.base_seq = d.seq;
  op.op = *d.inflight;
  op.agent_seq = *d.inflight_agent_seq;
  SendMessage(op);
}

void Client::Impl::PostFlush(uint16_t channel) {
  asio::post(strand, [self = shared_from_this(), channel] {
    std::lock_guard<std::mutex> guard(self->mu);
    if (Doc* d = self->ByChannel(channel)) {
      d->mode == Mode::kCrdt ? self->FlushCrdt(*d) : self->SendInflight(*d);
    }
  });
}

// ---- Client ----

Client::Client(asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Client::~Client() { Stop(); }

Status Client::Load() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->LoadLocked();
}

void Client::Start() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->running) return;
    impl_->running = true;
    impl_->stopping = false;
    impl_->refused.reset();
  }
  asio::co_spawn(impl_->strand, [impl = impl_] { return impl->Run(); }, asio::detached);
}

void Client::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->running) return;
    impl_->stopping = true;
  }
  asio::post(impl_->strand, [impl = impl_] {
    impl->retry.cancel();
    if (impl->ws) {
      impl->ws->async_close(websocket::close_code::normal,
                            [impl](beast::error_code) {
                              if (impl->ws) beast::get_lowest_layer(*impl->ws).close();
                            });
    }
  });
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return !impl_->running; });
}

void Client::Disconnect() {
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->ws) beast::get_lowest_layer(*impl->ws).close();
  });
}

uint16_t Client::Open(const std::string& doc, Mode mode, DocCallbacks callbacks) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& [channel, d] : impl_->docs) {
    if (d.name == doc) {
      d.callbacks = std::move(callbacks);
      return channel;
    }
  }
  const uint16_t channel = impl_->next_channel++;
  Doc& d = impl_->docs[channel];
  d.name = doc;
  d.channel = channel;
  d.mode = mode;
  d.callbacks = std::move(callbacks);
  if (mode == Mode::kCrdt && impl_->agent != 0) d.crdt.emplace(crdt::AgentId{impl_->agent});
  asio::post(impl_->strand, [impl = impl_, channel] {
    std::lock_guard<std::mutex> guard(impl->mu);
    Doc* opened = impl->ByChannel(channel);
    if (opened != nullptr && impl->state == ConnectionState::kConnected) impl->SendOpen(*opened);
  });
  return channel;
}

Status Client::Insert(uint16_t channel, size_t pos, std::string_view utf8) {
  if (!utf8::Validate(utf8).ok()) return InvalidArgument("insert: not valid UTF-8");
  std::lock_guard<std::mutex> lock(impl_->mu);
  Doc* d = impl_->ByChannel(channel);
  if (d == nullptr) return NotFound("no document on channel " + std::to_string(channel));
  if (d->mode == Mode::kCrdt) {
    if (!d->crdt) return Internal("no agent yet: connect once first");
    if (pos > d->crdt->size()) return OutOfRange("insert past the end");
    ot::TextOp op;
    op.Retain(pos).Insert(utf8);
    QUIRE_RETURN_IF_ERROR(d->crdt->ApplyLocalOp(op).status());
  } else {
    ot::TextOp op;
    op.Retain(pos).Insert(utf8);
    const size_t length_before = utf8::CountCodePoints(d->text);
    QUIRE_ASSIGN_OR_RETURN(d->text, ot::Apply(d->text, op));
    impl_->MovePositions(*d, op, length_before);
    if (!d->inflight) {
      d->inflight = std::move(op);
      d->inflight_ref = impl_->next_ref++;
    } else {
      d->buffer = d->buffer ? ot::Compose(*d->buffer, op) : op;
    }
  }
  if (!impl_->options.state_file.empty()) QUIRE_RETURN_IF_ERROR(impl_->SaveLocked());
  impl_->PostFlush(channel);
  impl_->cv.notify_all();
  return Status::Ok();
}

Status Client::Remove(uint16_t channel, size_t pos, size_t len) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Doc* d = impl_->ByChannel(channel);
  if (d == nullptr) return NotFound("no document on channel " + std::to_string(channel));
  ot::TextOp op;
  op.Retain(pos).Delete(len);
  if (d->mode == Mode::kCrdt) {
    if (!d->crdt) return Internal("no agent yet: connect once first");
    QUIRE_RETURN_IF_ERROR(d->crdt->ApplyLocalOp(op).status());
  } else {
    const size_t length_before = utf8::CountCodePoints(d->text);
    QUIRE_ASSIGN_OR_RETURN(d->text, ot::Apply(d->text, op));
    impl_->MovePositions(*d, op, length_before);
    if (!d->inflight) {
      d->inflight = std::move(op);
      d->inflight_ref = impl_->next_ref++;
    } else {
      d->buffer = d->buffer ? ot::Compose(*d->buffer, op) : op;
    }
  }
  if (!impl_->options.state_file.empty()) QUIRE_RETURN_IF_ERROR(impl_->SaveLocked());
  impl_->PostFlush(channel);
  impl_->cv.notify_all();
  return Status::Ok();
}

std::string Client::Text(uint16_t channel) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Doc* d = impl_->ByChannel(channel);
  if (d == nullptr) return {};
  if (d->mode == Mode::kOt) return d->text;
  return d->crdt ? d->crdt->Text() : std::string();
}

DocStatus Client::StatusOf(uint16_t channel) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Doc* d = impl_->ByChannel(channel);
  return d == nullptr ? DocStatus{} : impl_->StatusOf(*d);
}

ConnectionState Client::state() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->state;
}

std::optional<server::ErrorMsg> Client::refusal() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->refused;
}

uint64_t Client::agent() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->agent;
}

bool Client::WaitFor(uint16_t channel, const std::function<bool(const DocStatus&)>& pred,
                     std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] {
    const Doc* d = impl_->ByChannel(channel);
    return d != nullptr && pred(impl_->StatusOf(*d));
  });
}

bool Client::WaitConnected(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout,
                            [&] { return impl_->state == ConnectionState::kConnected; });
}

}  // namespace quire::client
