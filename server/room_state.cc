#include "server/room_state.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "crdt/change_codec.h"

namespace quire::server {
namespace {

// A new client holding nothing gets the encoded document instead of the
// changes once the history has more ops than this: the encoding is a
// fraction of the changes' size on any real history.
constexpr uint64_t kSnapshotAboveOps = 4096;

size_t PatchBytes(const Patch& p) {
  size_t n = sizeof(Patch) + p.op.components().size() * sizeof(ot::Component);
  for (const ot::Component& c : p.op.components()) n += c.text.capacity();
  return n;
}

}  // namespace

RoomState::RoomState(std::string name, uint64_t epoch, uint64_t head, crdt::TextDoc doc,
                     RoomHost* host, RoomLimits limits)
    : name_(std::move(name)),
      epoch_(epoch),
      head_(head),
      durable_(head),
      doc_(std::move(doc)),
      host_(host),
      limits_(limits),
      presence_(limits.presence) {}

bool RoomState::Idle() const {
  return members_.empty() && pipeline_.empty() && waiting_.empty();
}

RoomState::Member* RoomState::Find(const Peer* peer, uint16_t channel) {
  for (Member& m : members_) {
    if (m.info.peer.get() == peer && m.info.channel == channel) return &m;
  }
  return nullptr;
}

void RoomState::SendError(const std::shared_ptr<Peer>& peer, ErrorCode code, std::string message,
                          std::optional<uint16_t> channel, std::optional<uint64_t> ref) {
  peer->SendError(ProtocolError{code, std::move(message), channel, ref}, std::nullopt);
}

// ---- Joining ----

void RoomState::Open(MemberInfo info, const OpenMsg& open) {
  if (broken_) return info.peer->Fail();
  if (open.epoch != 0 && open.epoch != epoch_) {
    ProtocolError e{ErrorCode::kStaleEpoch, "the document was created again (epoch differs)",
                    open.channel, std::nullopt};
    return info.peer->SendError(e, epoch_);
  }
  if (open.mode == Mode::kOt && open.seq > head_) {
    return SendError(info.peer, ErrorCode::kBadSeq,
                     "have seq " + std::to_string(open.seq) + " is past the head " +
                         std::to_string(head_),
                     open.channel, std::nullopt);
  }
  members_.push_back(Member{info, /*live=*/false, /*op_in_flight=*/false,
                            limits_.broadcast_burst, host_->NowMs()});
  const Member& m = members_.back();
  if (!info.observer) presence_.Join(info.session, info.user, info.name, host_->NowMs());
  if (open.mode == Mode::kCrdt) {
    std::vector<Frame> frames = CrdtCatchUp(m, open);
    frames.push_back(PresenceSnapshot(m));
    Enqueue(Pending{head_, CatchUp{info.peer, open.channel, std::move(frames)}});
    return;
  }
  std::vector<Patch> behind;
  if (open.seq != 0 && !PatchesSince(open.seq, &behind)) {
    waiting_.push_back(Waiting{std::make_pair(std::move(info), open), std::nullopt});
    RequestHistory(open.seq);
    return;
  }
  Enqueue(Pending{head_, CatchUp{info.peer, open.channel, OtCatchUp(m, open.channel, open.seq, behind)}});
}

std::vector<Frame> RoomState::OtCatchUp(const Member& member, uint16_t channel, uint64_t seq,
                                        const std::vector<Patch>& behind) {
  std::vector<Frame> frames;
  frames.push_back(OpenedFrame(channel, epoch_, head_));
  if (seq == 0) {
    frames.push_back(TextFrame(channel, head_, doc_.Text()));
  } else {
    for (const Patch& p : behind) {
      frames.push_back(RelayFrame(MsgType::kRemoteOp, channel, RemoteOpBody(++seq, p.op, p.origin)));
    }
  }
  frames.push_back(SyncedFrame(channel, head_, nullptr, doc_.NextSeq(member.info.agent)));
  frames.push_back(PresenceSnapshot(member));
  return frames;
}

std::vector<Frame> RoomState::CrdtCatchUp(const Member& member, const OpenMsg& open) {
  std::vector<Frame> frames;
  frames.push_back(OpenedFrame(open.channel, epoch_, head_));
  const crdt::Version version = doc_.GetVersion();
  uint64_t total_ops = 0;
  for (const auto& [agent, next] : version.entries()) total_ops += next;
  if (open.version.entries().empty() && total_ops > kSnapshotAboveOps) {
    frames.push_back(SnapshotFrame(open.channel, head_, doc_.Encode()));
  } else {
    for (const crdt::Change& c : doc_.ChangesSince(open.version)) {
      frames.push_back(RelayFrame(MsgType::kRemoteChange, open.channel,
                                  RemoteChangeBody(head_, crdt::EncodeChange(c))));
    }
  }
  frames.push_back(
      SyncedFrame(open.channel, head_, &version, version.Get(member.info.agent)));
  return frames;
}

void RoomState::RequestHistory(uint64_t from) {
  if (history_requested_) return;  // OnHistory asks again for what is left.
  history_requested_ = true;
  // Only what is durable is in the log: a room writes on a cadence, so the
  // seqs after durable_ may not be in the store yet. OnHistory takes them
  // from the window (or asks again once the window has moved past).
  host_->LoadHistory(from, durable_);
}

void RoomState::LeavePresence(const Member& m) {
  // A session may hold a document on two channels: it stays present while
  // one remains.
  for (const Member& other : members_) {
    if (&other != &m && other.info.session == m.info.session) return;
  }
  presence_.Leave(m.info.session);
}

void RoomState::Close(const Peer* peer, uint16_t channel) {
  std::erase_if(members_, [&](const Member& m) {
    const bool gone = m.info.peer.get() == peer && m.info.channel == channel;
    if (gone) LeavePresence(m);
    return gone;
  });
  std::erase_if(waiting_, [&](const Waiting& w) {
    return w.open ? w.open->first.peer.get() == peer && w.open->second.channel == channel
                  : w.op->first.get() == peer && w.op->second.channel == channel;
  });
}

void RoomState::Leave(const Peer* peer) {
  for (const Member& m : members_) {
    if (m.info.peer.get() == peer) presence_.Leave(m.info.session);
  }
  std::erase_if(members_, [&](const Member& m) { return m.info.peer.get() == peer; });
  std::erase_if(waiting_, [&](const Waiting& w) {
    return w.open ? w.open->first.peer.get() == peer : w.op->first.get() == peer;
  });
}

// ---- Changes and ops ----

void RoomState::Change(const Peer* peer, ChangeMsg msg) {
  Member* m = Find(peer, msg.channel);
  if (m == nullptr || broken_) return;  // Closed meanwhile; the client resends on reopen.
  const std::shared_ptr<Peer>& p = m->info.peer;
  if (m->info.mode != Mode::kCrdt) {
    return SendError(p, ErrorCode::kBadField, "change on an OT channel", msg.channel, msg.ref);
  }
  presence_.Touch(m->info.session, host_->NowMs());
  const crdt::Change& c = msg.change;
  if (c.id.agent != m->info.agent) {
    return SendError(p, ErrorCode::kWrongAgent,
                     "change of agent " + std::to_string(c.id.agent.value) +
                         ", this session's is " + std::to_string(m->info.agent.value),
                     msg.channel, msg.ref);
  }
  const uint64_t len = c.Length();
  const uint64_t next = doc_.NextSeq(c.id.agent);
  if (c.id.seq + len <= next) return AckUnchanged(*m, msg.ref);  // It landed before.
  if (Status s = doc_.ValidateChange(c); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) {
      // It builds on ops this replica lacks: ask for them; nothing changed.
      p->Send(NeedFrame(msg.channel, msg.ref, doc_.GetVersion()));
      return;
    }
    const ErrorCode code = s.code() == StatusCode::kFailedPrecondition   ? ErrorCode::kNotCausal
                           : s.code() == StatusCode::kResourceExhausted ? ErrorCode::kDocTooLarge
                                                                         : ErrorCode::kDoesNotFit;
    return SendError(p, code, s.message(), msg.channel, msg.ref);
  }
  Result<ot::TextOp> patch = doc_.Apply(c);
  if (!patch.ok()) {
    const ErrorCode code = patch.status().code() == StatusCode::kResourceExhausted
                               ? ErrorCode::kDocTooLarge
                               : ErrorCode::kDoesNotFit;
    return SendError(p, code, patch.status().message(), msg.channel, msg.ref);
  }
  Accept(*m, msg.ref, std::move(msg.change_bytes), Patch{std::move(*patch), c.id});
}

void RoomState::Op(const Peer* peer, OpMsg msg) {
  Member* m = Find(peer, msg.channel);
  if (m == nullptr || broken_) return;
  const std::shared_ptr<Peer>& p = m->info.peer;
  if (m->info.mode != Mode::kOt) {
    return SendError(p, ErrorCode::kBadField, "op on a CRDT channel", msg.channel, msg.ref);
  }
  presence_.Touch(m->info.session, host_->NowMs());
  if (m->op_in_flight) {
    return SendError(p, ErrorCode::kOpInFlight, "an op is already in flight", msg.channel,
                     msg.ref);
  }
  if (msg.base_seq > head_) {
    return SendError(p, ErrorCode::kBadSeq,
                     "base seq " + std::to_string(msg.base_seq) + " is past the head " +
                         std::to_string(head_),
                     msg.channel, msg.ref);
  }
  const uint64_t agent_next = doc_.NextSeq(m->info.agent);
  if (msg.agent_seq > agent_next) {
    return SendError(p, ErrorCode::kBadSeq,
                     "agent seq " + std::to_string(msg.agent_seq) + " is past the agent's next " +
                         std::to_string(agent_next),
                     msg.channel, msg.ref);
  }
  if (msg.agent_seq < agent_next) return AckUnchanged(*m, msg.ref);  // Applied before.
  std::vector<const Patch*> behind;
  if (!WindowSince(msg.base_seq, &behind)) {
    m->op_in_flight = true;
    const uint64_t from = msg.base_seq;
    waiting_.push_back(Waiting{std::nullopt, std::make_pair(m->info.peer, std::move(msg))});
    RequestHistory(from);
    return;
  }
  ApplyOp(*m, std::move(msg), behind);
}

void RoomState::ApplyOp(Member& m, OpMsg msg, const std::vector<const Patch*>& behind) {
  const std::shared_ptr<Peer>& p = m.info.peer;
  // ShareDB's server convention: an incoming op goes left of (before) what
  // the server accepted first at the same place (ot::Rebase, over pointers).
  ot::TextOp op = std::move(msg.op);
  ot::TextOp scratch;
  for (const Patch* h : behind) {
    ot::Transform(op, h->op, ot::Side::kLeft, &scratch);
    std::swap(op, scratch);
  }
  if (op.BaseLength() > doc_.size()) {
    m.op_in_flight = false;
    return SendError(p, ErrorCode::kDoesNotFit,
                     "op spans " + std::to_string(op.BaseLength()) + " code points, the text has " +
                         std::to_string(doc_.size()),
                     msg.channel, msg.ref);
  }
  if (op.IsNoop()) return AckUnchanged(m, msg.ref);
  Result<crdt::Change> change = doc_.ApplyLocalOpAs(m.info.agent, op);
  if (!change.ok()) {
    m.op_in_flight = false;
    const ErrorCode code = change.status().code() == StatusCode::kResourceExhausted
                               ? ErrorCode::kDocTooLarge
                               : ErrorCode::kDoesNotFit;
    return SendError(p, code, change.status().message(), msg.channel, msg.ref);
  }
  const crdt::Id origin = change->id;
  Accept(m, msg.ref, crdt::EncodeChange(*change), Patch{std::move(op), origin});
}

void RoomState::AckUnchanged(const Member& author, uint64_t ref) {
  Accepted a{author.info.peer, author.info.channel, ref, /*changed=*/false,
             doc_.NextSeq(author.info.agent), nullptr, nullptr};
  // Acked once everything before it is durable (it may be a resend of a
  // change that is still on its way to disk).
  Enqueue(Pending{head_, std::move(a)});
}

void RoomState::Accept(Member& author, uint64_t ref, std::string change_bytes, Patch patch) {
  const uint64_t seq = ++head_;
  bool any_crdt = false, any_ot = false;
  for (const Member& m : members_) {
    if (&m == &author) continue;
    (m.info.mode == Mode::kCrdt ? any_crdt : any_ot) = true;
  }
  if (author.info.mode == Mode::kOt) author.op_in_flight = true;
  presence_.Typed(author.info.session, host_->NowMs());
  Accepted a{author.info.peer, author.info.channel, ref, /*changed=*/true,
             doc_.NextSeq(author.info.agent), nullptr, nullptr};
  if (any_crdt) a.change_body = RemoteChangeBody(seq, change_bytes);
  if (any_ot) a.op_body = RemoteOpBody(seq, patch.op, patch.origin);
  RememberPatch(std::move(patch));
  host_->Append(seq, storage::NewChange{std::move(change_bytes), author.info.user,
                                        host_->NowMs()});
  Enqueue(Pending{seq, std::move(a)});
}

void RoomState::RememberPatch(Patch patch) {
  window_bytes_ += PatchBytes(patch);
  window_.push_back(std::move(patch));
  while (!window_.empty() &&
         (window_.size() > limits_.history_ops || window_bytes_ > limits_.history_bytes)) {
    window_bytes_ -= PatchBytes(window_.front());
    window_.pop_front();
  }
}

bool RoomState::WindowSince(uint64_t seq, std::vector<const Patch*>* out) const {
  const uint64_t oldest = head_ - window_.size();  // Patches cover (oldest, head_].
  if (seq < oldest) return false;
  out->clear();
  out->reserve(head_ - seq);
  for (auto it = window_.begin() + static_cast<std::ptrdiff_t>(seq - oldest); it != window_.end();
       ++it) {
    out->push_back(&*it);
  }
  return true;
}

bool RoomState::PatchesSince(uint64_t seq, std::vector<Patch>* out) const {
  const uint64_t oldest = head_ - window_.size();  // Patches cover (oldest, head_].
  if (seq < oldest) return false;
  out->assign(window_.begin() + static_cast<std::ptrdiff_t>(seq - oldest), window_.end());
  return true;
}

// ---- The pipeline ----

void RoomState::Enqueue(Pending pending) {
  pipeline_.push_back(std::move(pending));
  Drain();
}

void RoomState::Drain() {
  while (!pipeline_.empty() && pipeline_.front().seq <= durable_) {
    Pending p = std::move(pipeline_.front());
    pipeline_.pop_front();
    if (Accepted* a = std::get_if<Accepted>(&p.item); a != nullptr && a->changed) {
      // Gathered: everything durable now goes to each member as one run.
      run_.Add(RelayRun::Entry{p.seq, a->author.get(), a->channel, a->ref, a->agent_next,
                               std::move(a->change_body), std::move(a->op_body)});
      continue;
    }
    FlushRun();  // What came before goes first.
    if (Accepted* a = std::get_if<Accepted>(&p.item)) {
      Deliver(*a, p.seq);
    } else if (PresenceFlush* flush = std::get_if<PresenceFlush>(&p.item)) {
      for (Member& m : members_) {
        if (!m.live) continue;
        const auto& body = m.info.mode == Mode::kCrdt ? flush->crdt_body : flush->ot_body;
        if (body) m.info.peer->Send(RelayFrame(MsgType::kPresence, m.info.channel, body));
      }
    } else {
      CatchUp& c = std::get<CatchUp>(p.item);
      if (Member* m = Find(c.peer.get(), c.channel)) {
        for (Frame& f : c.frames) {
          f.catch_up = true;
          m->info.peer->Send(std::move(f));
        }
        m->live = true;
      }
    }
  }
  FlushRun();
}

void RoomState::FlushRun() {
  if (run_.empty()) return;
  for (Member& m : members_) {
    if (m.live && run_.SendTo(*m.info.peer, m.info.channel, m.info.mode)) m.op_in_flight = false;
  }
  run_.Clear();
}

void RoomState::Deliver(Accepted& a, uint64_t seq) {
  for (Member& m : members_) {
    if (!m.live) continue;
    if (m.info.peer == a.author && m.info.channel == a.channel) {
      m.op_in_flight = false;
      m.info.peer->Send(AckFrame(m.info.channel, a.ref, a.changed ? seq : durable_, a.agent_next));
    } else if (a.changed) {
      if (m.info.mode == Mode::kCrdt) {
        m.info.peer->Send(RelayFrame(MsgType::kRemoteChange, m.info.channel, a.change_body));
      } else {
        m.info.peer->Send(RelayFrame(MsgType::kRemoteOp, m.info.channel, a.op_body));
      }
    }
  }
}

void RoomState::OnAppended(uint64_t seq, const Status& status) {
  if (broken_) return;
  if (!status.ok() || seq != durable_ + 1) return Break();
  OnAppendedThrough(seq, status);
}

void RoomState::OnAppendedThrough(uint64_t seq, const Status& status) {
  if (broken_) return;
  if (!status.ok() || seq <= durable_ || seq > head_) return Break();
  durable_ = seq;
  Drain();
}

void RoomState::Break() {
  // The replica holds changes the store refused: nobody may see them, and
  // the room must be dropped and loaded again from what is durable.
  broken_ = true;
  for (Member& m : members_) m.info.peer->Fail();
  members_.clear();
  pipeline_.clear();
  waiting_.clear();
}

void RoomState::OnHistory(uint64_t from, uint64_t to, Result<std::vector<Patch>> patches) {
  history_requested_ = false;
  if (broken_) return;
  std::vector<Waiting> waiting = std::move(waiting_);
  waiting_.clear();
  // Those that came while the log was read, from an older seq than it was
  // read from: they wait for another read.
  std::vector<Waiting> later;
  uint64_t later_from = UINT64_MAX;
  for (size_t i = 0; i < waiting.size(); ++i) {
    Waiting& w = waiting[i];
    const uint64_t seq = w.open ? w.open->second.seq : w.op->second.base_seq;
    const std::shared_ptr<Peer>& peer = w.open ? w.open->first.peer : w.op->first;
    const uint16_t channel = w.open ? w.open->second.channel : w.op->second.channel;
    Member* m = Find(peer.get(), channel);
    if (m == nullptr) continue;  // Closed meanwhile.
    if (patches.ok() && seq < from) {
      later_from = std::min(later_from, seq);
      later.push_back(std::move(w));
      continue;
    }
    if (!patches.ok()) {
      const std::optional<uint64_t> ref =
          w.op ? std::optional<uint64_t>(w.op->second.ref) : std::nullopt;
      if (w.open) {
        LeavePresence(*m);
        std::erase_if(members_, [&](const Member& x) { return &x == m; });
      } else {
        m->op_in_flight = false;
      }
      SendError(peer, ErrorCode::kBadSeq,
                "seq " + std::to_string(seq) + " is older than the server's log keeps" +
                    (patches.ok() ? std::string() : ": " + patches.status().message()),
                channel, ref);
      continue;
    }
    // (seq, to] from the store, (to, head_] from the window, unless the
    // window moved past `to` meanwhile: then ask again for what is left.
    const uint64_t oldest = head_ - window_.size();
    if (to < oldest) {
      waiting_.assign(std::make_move_iterator(waiting.begin() + static_cast<std::ptrdiff_t>(i)),
                      std::make_move_iterator(waiting.end()));
      waiting_.insert(waiting_.end(), std::make_move_iterator(later.begin()),
                      std::make_move_iterator(later.end()));
      RequestHistory(std::min(from, later_from));
      return;
    }
    const auto first = patches->begin() + static_cast<std::ptrdiff_t>(seq - from);
    const auto window_from = window_.begin() + static_cast<std::ptrdiff_t>(to - oldest);
    if (w.op) {
      std::vector<const Patch*> behind;
      for (auto it = first; it != patches->end(); ++it) behind.push_back(&*it);
      for (auto it = window_from; it != window_.end(); ++it) behind.push_back(&*it);
      m->op_in_flight = false;
      ApplyOp(*m, std::move(w.op->second), behind);
    } else {
      std::vector<Patch> behind(first, patches->end());
      behind.insert(behind.end(), window_from, window_.end());
      Enqueue(Pending{head_, CatchUp{peer, channel, OtCatchUp(*m, channel, seq, behind)}});
    }
  }
  if (!later.empty()) {
    waiting_.insert(waiting_.end(), std::make_move_iterator(later.begin()),
                    std::make_move_iterator(later.end()));
    RequestHistory(later_from);
  }
}

size_t RoomState::MemoryUsage() const {
  return sizeof(*this) + doc_.MemoryUsage() + window_bytes_ +
         members_.capacity() * sizeof(Member) + name_.capacity();
}

// ---- Presence ----

std::optional<presence::Anchor> RoomState::AnchorAt(uint64_t seq, uint64_t pos) {
  if (seq > head_) return std::nullopt;
  std::vector<Patch> behind;
  if (!PatchesSince(seq, &behind)) return std::nullopt;
  // The text's length at each step, from the head back.
  const size_t size = doc_.size();
  std::vector<size_t> lengths(behind.size() + 1);
  lengths.back() = size;
  for (size_t i = behind.size(); i-- > 0;) {
    lengths[i] = lengths[i + 1] - behind[i].op.InsertedLength() + behind[i].op.DeletedLength();
  }
  // A position stands for the character after it (protocol.md).
  size_t p = pos;
  for (size_t i = 0; i < behind.size(); ++i) {
    p = ot::TransformPosition(p, behind[i].op,
                              p < lengths[i] ? ot::Stick::kAfter : ot::Stick::kBefore);
  }
  if (p > size) return std::nullopt;
  // The character after the position; at the end, after the last one.
  if (p < size) return presence::Anchor{doc_.IdAt(p), false};
  if (size == 0) return presence::Anchor{};
  return presence::Anchor{doc_.IdAt(size - 1), true};
}

uint64_t RoomState::PositionOf(const presence::Anchor& anchor) {
  if (anchor.id.IsRoot()) return 0;
  Result<size_t> pos = doc_.PositionOf(anchor.id, anchor.after);
  return pos.ok() ? *pos : 0;
}

std::optional<presence::Update> RoomState::ToUpdate(const Member& m, const PresenceSetMsg& msg,
                                                    std::string* why) {
  const bool ot = m.info.mode == Mode::kOt;
  auto convert = [&](const WireAnchor& w) -> std::optional<presence::Anchor> {
    if (const uint64_t* pos = std::get_if<uint64_t>(&w)) {
      if (!ot) return std::nullopt;
      return AnchorAt(msg.seq, *pos);
    }
    const presence::Anchor& a = std::get<presence::Anchor>(w);
    // CRDT anchors must name characters this replica has.
    if (ot || (!a.id.IsRoot() && !doc_.PositionOf(a.id, a.after).ok())) return std::nullopt;
    return a;
  };
  const WireState& w = msg.state;
  presence::Update u;
  u.keys = w.keys;
  u.name = w.name;
  u.color = w.color;
  if (w.cursor) {
    u.cursor = convert(*w.cursor);
    if (!u.cursor) {
      *why = ot ? "cursor is not a position in the text at that seq"
                : "cursor is not an anchor on a known character";
      return std::nullopt;
    }
  }
  for (const WireSelection& sel : w.selections) {
    std::optional<presence::Anchor> a = convert(sel.anchor), h = convert(sel.head);
    if (!a || !h) {
      *why = "a selection end is not a place in the text";
      return std::nullopt;
    }
    u.selections.push_back(presence::Selection{*a, *h});
  }
  u.typing = w.typing;
  u.app = w.app;
  return u;
}

void RoomState::SetPresence(const Peer* peer, PresenceSetMsg msg) {
  Member* m = Find(peer, msg.channel);
  if (m == nullptr || broken_) return;
  const int64_t now = host_->NowMs();
  std::string why;
  std::optional<presence::Update> u = ToUpdate(*m, msg, &why);
  if (!u) return SendError(m->info.peer, ErrorCode::kBadField, why, msg.channel, std::nullopt);
  if (!presence_.present(m->info.session)) {
    presence_.Join(m->info.session, m->info.user, m->info.name, now);  // Back after the TTL.
  }
  Status s = presence_.Apply(m->info.session, *u, now);
  if (!s.ok()) {
    const ErrorCode code = s.code() == StatusCode::kResourceExhausted ? ErrorCode::kRateLimited
                                                                     : ErrorCode::kTooLarge;
    return SendError(m->info.peer, code, "presence: " + s.message(), msg.channel, std::nullopt);
  }
  if (limits_.presence_interval_ms == 0) FlushPresence();  // No coalescing (measurements).
}

void RoomState::Broadcast(const Peer* peer, const BroadcastMsg& msg) {
  Member* m = Find(peer, msg.channel);
  if (m == nullptr || broken_) return;
  const int64_t now = host_->NowMs();
  presence_.Touch(m->info.session, now);
  if (msg.payload.size() > limits_.max_broadcast_bytes) {
    return SendError(m->info.peer, ErrorCode::kTooLarge,
                     "broadcast of " + std::to_string(msg.payload.size()) + " bytes, more than " +
                         std::to_string(limits_.max_broadcast_bytes),
                     msg.channel, std::nullopt);
  }
  const double elapsed_s =
      static_cast<double>(std::max<int64_t>(0, now - m->broadcast_refilled_ms)) / 1000;
  m->broadcast_tokens = std::min(limits_.broadcast_burst,
                                 m->broadcast_tokens + elapsed_s * limits_.broadcasts_per_second);
  m->broadcast_refilled_ms = now;
  if (m->broadcast_tokens < 1) {
    return SendError(m->info.peer, ErrorCode::kRateLimited, "too many broadcasts a second",
                     msg.channel, std::nullopt);
  }
  m->broadcast_tokens -= 1;
  // Ephemeral: straight to the others, outside the seq pipeline.
  const auto body = BroadcastedBody(m->info.session, msg.payload);
  for (Member& other : members_) {
    if (other.live && &other != m) {
      other.info.peer->Send(RelayFrame(MsgType::kBroadcasted, other.info.channel, body));
    }
  }
}

Frame RoomState::PresenceSnapshot(const Member& m) {
  const std::function<uint64_t(const presence::Anchor&)> position =
      [this](const presence::Anchor& a) { return PositionOf(a); };
  return RelayFrame(MsgType::kPresence, m.info.channel,
                    PresenceBody(head_, presence_.Snapshot(),
                                 m.info.mode == Mode::kOt ? &position : nullptr));
}

void RoomState::FlushPresence() {
  if (broken_) return;
  presence_.Tick(host_->NowMs());
  if (!presence_.dirty()) return;
  const std::vector<presence::Entry> changes = presence_.TakeChanges();
  bool any_crdt = false, any_ot = false;
  for (const Member& m : members_) (m.info.mode == Mode::kCrdt ? any_crdt : any_ot) = true;
  PresenceFlush flush;
  if (any_crdt) flush.crdt_body = PresenceBody(head_, changes, nullptr);
  if (any_ot) {
    const std::function<uint64_t(const presence::Anchor&)> position =
        [this](const presence::Anchor& a) { return PositionOf(a); };
    flush.ot_body = PresenceBody(head_, changes, &position);
  }
  // Positions are at head_: they go out once head_ is durable, after the
  // relays that bring every member there.
  Enqueue(Pending{head_, std::move(flush)});
}

}  // namespace quire::server
