#include "bench/loadgen/clients.h"

#include <functional>
#include <random>

#include "base/utf8.h"
#include "base/wire.h"
#include "crdt/change_codec.h"
#include "ot/codec.h"

namespace quire::loadgen {

uint64_t HashBytes(std::string_view bytes) { return std::hash<std::string_view>{}(bytes); }

SendTimes::SendTimes(size_t capacity)
    : t_(std::make_unique<std::atomic<int64_t>[]>(capacity)), n_(capacity) {
  for (size_t i = 0; i < n_; ++i) t_[i].store(0, std::memory_order_relaxed);
}

Authors::Authors(const std::vector<std::pair<uint64_t, const SendTimes*>>& all) {
  size_t n = 16;
  while (n < 2 * all.size()) n *= 2;
  slots_.assign(n, {0, nullptr});
  mask_ = n - 1;
  for (const auto& [agent, times] : all) {
    size_t i = Slot(agent);
    while (slots_[i].first != 0 && slots_[i].first != agent) i = (i + 1) & mask_;
    slots_[i] = {agent, times};
  }
}

// ---- LoadClient: connection, session, order and digest ----

LoadClient::LoadClient(boost::asio::io_context& io, Mode mode, RoomShared* room, RunContext* run,
                       ThreadStats* stats)
    : io_(io), conn_(io, this), mode_(mode), room_(room), run_(run), stats_(stats) {}

LoadClient::~LoadClient() = default;

void LoadClient::Start() {
  conn_.Connect(run_->server, [this](const std::string& error) {
    if (!error.empty()) return Fail(error);
    server::HelloMsg hello;
    hello.client = "quire-loadgen/0.1";
    Send(server::EncodeClientMessage(hello));
  });
}

void LoadClient::Fail(const std::string&) {
  failed_ = true;
  Ready(false);
}

void LoadClient::Ready(bool ok) {
  if (reported_) return;
  reported_ = true;
  if (run_->on_ready) run_->on_ready(ok);
}

void LoadClient::OnFrame(std::string_view frame, int64_t now_us) {
  now_ = now_us;
  ParseServerFrame(frame, *this);
}

void LoadClient::OnClosed(const std::string& why) {
  if (closing_) return;
  if (live_) ++stats_->closed;
  live_ = false;
  Fail(why);
}

void LoadClient::OnBadFrame(const std::string&) { ++stats_->bad_frames; }

void LoadClient::OnMessage(server::ServerMessage& message) {
  if (auto* w = std::get_if<server::WelcomeMsg>(&message)) {
    agent_.store(w->agent, std::memory_order_release);
    OnWelcome();
    server::OpenMsg open;
    open.channel = 0;
    open.doc = room_->doc;
    open.mode = mode_;
    Send(server::EncodeClientMessage(open));
  } else if (auto* s = std::get_if<server::SyncedMsg>(&message)) {
    agent_next_ = s->agent_next;
    last_seq_.store(s->seq, std::memory_order_release);
    live_ = true;
    OnLive();
    Ready(true);
  } else if (auto* t = std::get_if<server::TextMsg>(&message)) {
    OnText(*t);
  } else if (auto* snap = std::get_if<server::SnapshotMsg>(&message)) {
    OnSnapshot(*snap);
  } else if (auto* e = std::get_if<server::ErrorMsg>(&message)) {
    stats_->Error(static_cast<uint16_t>(e->code), e->message);
    if (!live_) Fail(e->message);
  } else if (std::holds_alternative<server::NeedMsg>(message)) {
    ++stats_->needs;
  }
}

void LoadClient::OnRelay(const Relay& relay) {
  if (!live_) return OnCatchUp(relay);
  if (relay.seq != last_seq() + 1) ++stats_->order_errors;
  digest_ += HashBytes(relay.body);
  ++digest_count_;
  OnRemote(relay);
  TimeDelivery(relay);
  last_seq_.store(relay.seq, std::memory_order_release);
}

void LoadClient::TimeDelivery(const Relay& relay) {
  ++stats_->deliveries;
  const Authors* authors = run_->authors.load(std::memory_order_acquire);
  int64_t sent = 0;
  if (authors != nullptr) {
    if (const SendTimes* times = authors->Find(relay.agent)) sent = times->Get(relay.agent_seq);
  }
  if (sent == 0) {
    ++stats_->untimed;
    return;
  }
  stats_->delivery.Add(now_ - sent);
}

void LoadClient::OnAck(const server::AckMsg& ack) {
  if (!live_) return;
  if (ack.seq != last_seq() + 1) ++stats_->order_errors;
  ++stats_->acks;
  digest_ += OnOwnAck(ack);
  ++digest_count_;
  agent_next_ = ack.agent_next;
  last_seq_.store(ack.seq, std::memory_order_release);
  AfterAck();
}

namespace {

// Lower-case letters, one per keystroke, cycling.
std::string Letters(uint64_t from, uint64_t n) {
  std::string s(n, 'a');
  for (uint64_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (from + i) % 26);
  return s;
}

// Applies `op` to `text` (the text of the seq before the op's), in place
// while both are ASCII (what the typists type): one memmove per component
// instead of a new string per op. false when the op does not fit.
bool ApplyOp(const ot::TextOp& op, std::string* text) {
  bool ascii = true;
  for (const ot::Component& c : op.components()) {
    ascii = ascii && (c.kind != ot::Component::Kind::kInsert || c.count == c.text.size());
  }
  if (!ascii) {
    Result<std::string> out = ot::Apply(*text, op);
    if (!out.ok()) return false;
    *text = std::move(*out);
    return true;
  }
  if (op.BaseLength() > text->size()) return false;
  size_t at = 0;
  for (const ot::Component& c : op.components()) {
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        at += c.count;
        break;
      case ot::Component::Kind::kInsert:
        text->insert(at, c.text);
        at += c.count;
        break;
      case ot::Component::Kind::kDelete:
        text->erase(at, c.count);
        break;
    }
  }
  return true;
}

// What typists share: what was typed and not yet sent, the send times.
class Typist : public LoadClient {
 public:
  Typist(boost::asio::io_context& io, Mode mode, bool keeper, RoomShared* room, RunContext* run,
         ThreadStats* stats, size_t max_ops)
      : LoadClient(io, mode, room, run, stats), keeper_(keeper), times_(max_ops) {}
  bool keeper() const override { return keeper_; }

  void Tick(int64_t) override {
    ++stats()->typed;
    pending_.fetch_add(1);
    TrySend();
  }
  bool idle() const override { return pending_.load() == 0 && !in_flight_.load(); }
  const SendTimes* send_times() const override { return &times_; }

 protected:
  virtual void TrySend() = 0;
  void AfterAck() override { TrySend(); }

  const bool keeper_;
  SendTimes times_;
  std::atomic<uint64_t> pending_{0};   // Typed, not sent.
  std::atomic<bool> in_flight_{false};  // Sent, not acknowledged.
  int64_t sent_at_ = 0;
  uint64_t letters_ = 0;
};

class OtTypist : public Typist {
 public:
  OtTypist(boost::asio::io_context& io, bool keeper, RoomShared* room, RunContext* run,
           ThreadStats* stats, size_t max_ops, uint64_t seed)
      : Typist(io, Mode::kOt, keeper, room, run, stats, max_ops), rng_(seed) {}
  std::string Text() const override { return text_; }

 private:
  void OnText(const server::TextMsg& t) override {
    length_ = utf8::CountCodePoints(t.text);
    caret_ = std::uniform_int_distribution<uint64_t>(0, length_)(rng_);
    if (keeper_) text_ = t.text;
  }

  // The keeper's text is the server's at last_seq: each seq's op applies
  // to it as the server made it (its own, as it was rebased).
  void Keep(const ot::TextOp& op) {
    if (!ApplyOp(op, &text_)) ++stats()->bad_frames;
  }

  // The client's catch-up (ShareDB's transformX) for an op that is one
  // insert: its place moves across the remote op, the remote op is applied
  // after it; neither needs the op built (parse.h, WalkOp).
  void OnRemote(const Relay& relay) override {
    if (keeper_) {
      Result<ot::TextOp> op = ot::DecodeOp(relay.payload);
      op.ok() ? Keep(*op) : void(++stats()->bad_frames);
    }
    OpEffect e;
    e.caret = caret_;
    e.insert_at = inflight_at_;
    if (!WalkOp(relay.payload, &e)) {
      ++stats()->bad_frames;
      return;
    }
    length_ = static_cast<uint64_t>(static_cast<int64_t>(length_) + e.length_delta);
    caret_ = std::min(e.caret, length_);
    if (in_flight_) inflight_at_ = e.insert_at;
  }

  uint64_t OnOwnAck(const server::AckMsg& ack) override {
    if (!in_flight_) return 0;
    stats()->ack.Add(now() - sent_at_);
    // The relay every other OT client got for this seq: the op as the
    // server rebased it, which this client's transform must match.
    ot::TextOp op;
    op.Retain(inflight_at_).Insert(inflight_text_);
    const uint64_t h = HashBytes(*server::RemoteOpBody(
        ack.seq, op, crdt::Id{crdt::AgentId{agent()}, inflight_agent_seq_}));
    if (keeper_) Keep(op);
    in_flight_ = false;
    return h;
  }

  void TrySend() override {
    const uint64_t n = pending_.load();
    if (!live() || in_flight_ || n == 0) return;
    server::OpMsg m;
    m.channel = 0;
    m.ref = agent_next_;
    m.base_seq = last_seq();
    m.agent_seq = agent_next_;
    inflight_text_ = Letters(letters_, n);
    letters_ += n;
    m.op.Retain(caret_).Insert(inflight_text_, n);
    sent_at_ = NowUs();
    times_.Set(agent_next_, sent_at_);
    inflight_agent_seq_ = agent_next_;
    inflight_at_ = caret_;
    in_flight_ = true;
    caret_ += n;
    length_ += n;
    pending_.fetch_sub(n);
    ++stats()->sent;
    Send(server::EncodeClientMessage(m));
  }

  std::mt19937_64 rng_;
  uint64_t length_ = 0;  // Code points of the text (with the op in flight).
  uint64_t caret_ = 0;
  // The op in flight inserts inflight_text_ at inflight_at_ of the text at
  // the last seq received.
  uint64_t inflight_at_ = 0;
  std::string inflight_text_;
  uint64_t inflight_agent_seq_ = 0;
  std::string text_;  // The keeper's.
};

class CrdtTypist : public Typist {
 public:
  CrdtTypist(boost::asio::io_context& io, bool keeper, RoomShared* room, RunContext* run,
             ThreadStats* stats, size_t max_ops)
      : Typist(io, Mode::kCrdt, keeper, room, run, stats, max_ops), retry_(io) {}
  std::string Text() const override {
    if (!keeper_) return {};
    std::lock_guard<std::mutex> lock(room()->mu);
    return room()->mirror ? room()->mirror->Text() : std::string();
  }

 private:
  // The keeper's mirror holds every change up to mirror_seq, in seq order
  // (what the server sequenced, nothing in flight).
  void OnWelcome() override {
    if (!keeper_) return;
    std::lock_guard<std::mutex> lock(room()->mu);
    room()->mirror.emplace(crdt::AgentId{agent()});
  }
  void OnCatchUp(const Relay& relay) override {
    if (keeper_) Keep(relay.payload);
  }
  void OnSnapshot(const server::SnapshotMsg& s) override {
    if (!keeper_) return;
    Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(s.bytes, crdt::AgentId{agent()});
    std::lock_guard<std::mutex> lock(room()->mu);
    doc.ok() ? void(room()->mirror.emplace(std::move(*doc))) : void(++stats()->bad_frames);
  }
  void OnLive() override {
    if (keeper_) room()->mirror_seq.store(last_seq(), std::memory_order_release);
  }
  void OnRemote(const Relay& relay) override {
    if (!keeper_) return;
    Keep(relay.payload);
    room()->mirror_seq.store(relay.seq, std::memory_order_release);
  }
  void Keep(std::string_view change_bytes) {
    Result<crdt::Change> change = crdt::DecodeChange(change_bytes);
    std::lock_guard<std::mutex> lock(room()->mu);
    if (!change.ok() || !room()->mirror->Integrate(*change).ok()) ++stats()->bad_frames;
  }

  uint64_t OnOwnAck(const server::AckMsg& ack) override {
    if (!in_flight_) return 0;
    stats()->ack.Add(now() - sent_at_);
    acked_seq_ = ack.seq;
    in_flight_ = false;
    if (keeper_) {
      Keep(inflight_bytes_);
      room()->mirror_seq.store(ack.seq, std::memory_order_release);
    }
    return HashBytes(*server::RemoteChangeBody(ack.seq, inflight_bytes_));
  }

  // The change is built on the room's mirror, which must hold this
  // client's previous change first (its next one builds on it).
  void TrySend() override {
    const uint64_t n = pending_.load();
    if (!live() || in_flight_ || n == 0) return;
    if (room()->mirror_seq.load(std::memory_order_acquire) < acked_seq_) return Retry();
    const crdt::AgentId me{agent()};
    crdt::Change change;
    {
      std::lock_guard<std::mutex> lock(room()->mu);
      crdt::TextDoc& doc = *room()->mirror;
      if (doc.NextSeq(me) != agent_next_) return Retry();
      // Right after this client's last character (at the start at first),
      // before what follows it now.
      size_t pos = 0;
      if (last_char_) {
        Result<size_t> p = doc.PositionOf(*last_char_, /*after=*/true);
        if (!p.ok()) return Retry();
        pos = *p;
      }
      change.id = crdt::Id{me, agent_next_};
      change.parents = doc.GetFrontier();
      crdt::Op op;
      op.kind = crdt::Op::Kind::kInsert;
      op.origin_left = last_char_ ? *last_char_ : crdt::Id::Root();
      op.origin_right = pos < doc.size() ? doc.IdAt(pos) : crdt::Id::Root();
      op.text = Letters(letters_, n);
      change.ops.push_back(std::move(op));
    }
    letters_ += n;
    inflight_bytes_ = crdt::EncodeChange(change);
    wire::Buffer buf;
    wire::Packer pk(buf);
    pk.pack_array(4);
    pk.pack_uint8(static_cast<uint8_t>(server::MsgType::kChange));
    pk.pack_uint16(0);
    pk.pack_uint64(agent_next_);
    buf.write(inflight_bytes_.data(), inflight_bytes_.size());
    sent_at_ = NowUs();
    times_.Set(agent_next_, sent_at_);
    last_char_ = crdt::Id{me, agent_next_ + n - 1};
    in_flight_ = true;
    pending_.fetch_sub(n);
    ++stats()->sent;
    Send(buf.Take());
  }

  void Retry() {
    if (retry_armed_) return;
    retry_armed_ = true;
    retry_.expires_after(std::chrono::milliseconds(1));
    retry_.async_wait([this](const boost::system::error_code& ec) {
      retry_armed_ = false;
      if (!ec) TrySend();
    });
  }

  boost::asio::steady_timer retry_;
  bool retry_armed_ = false;
  uint64_t acked_seq_ = 0;
  std::optional<crdt::Id> last_char_;
  std::string inflight_bytes_;
};

class Checker : public LoadClient {
 public:
  Checker(boost::asio::io_context& io, RoomShared* room, RunContext* run, ThreadStats* stats)
      : LoadClient(io, Mode::kOt, room, run, stats) {}
  std::string Text() const override { return text_; }

 private:
  void OnText(const server::TextMsg& t) override { text_ = t.text; }
  void OnRemote(const Relay&) override {}
  uint64_t OnOwnAck(const server::AckMsg&) override { return 0; }
  std::string text_;
};

}  // namespace

std::unique_ptr<LoadClient> MakeTypist(boost::asio::io_context& io, Mode mode, bool keeper,
                                       RoomShared* room, RunContext* run, ThreadStats* stats,
                                       size_t max_ops, uint64_t seed) {
  if (mode == Mode::kOt) {
    return std::make_unique<OtTypist>(io, keeper, room, run, stats, max_ops, seed);
  }
  return std::make_unique<CrdtTypist>(io, keeper, room, run, stats, max_ops);
}

std::unique_ptr<LoadClient> MakeChecker(boost::asio::io_context& io, RoomShared* room,
                                        RunContext* run, ThreadStats* stats) {
  return std::make_unique<Checker>(io, room, run, stats);
}

}  // namespace quire::loadgen
