#include "server/room.h"

#include <chrono>

#include <boost/asio/post.hpp>

#include "crdt/change_codec.h"
#include "server/metrics.h"

namespace quire::server {
namespace asio = boost::asio;

namespace {

constexpr size_t kReadChunkChanges = 4096;
constexpr size_t kReadChunkBytes = size_t{4} << 20;

// The server's own replicas author nothing; agent 0 is never handed out.
constexpr crdt::AgentId kServerAgent{0};

crdt::DocLimits DocLimitsOf(const ServerContext& ctx) {
  crdt::DocLimits limits;
  limits.max_bytes = ctx.options.limits.max_doc_bytes;
  return limits;
}

// The document a snapshot holds (none: the empty document).
Result<crdt::TextDoc> DocAt(const std::string& bytes, const crdt::DocLimits& limits) {
  if (bytes.empty()) return crdt::TextDoc(kServerAgent, limits);
  return crdt::TextDoc::Decode(bytes, kServerAgent, limits);
}

}  // namespace

Room::Room(ServerContext& ctx, std::string name)
    : ctx_(ctx),
      name_(std::move(name)),
      strand_(asio::make_strand(*ctx.io)),
      idle_timer_(strand_),
      presence_timer_(strand_),
      commit_timer_(strand_) {}

// ---- Loading ----

void Room::StartLoading() {
  asio::post(*ctx_.loaders, [self = shared_from_this()] {
    Result<Loaded> loaded = self->LoadFromStore();
    asio::post(self->strand_, [self, loaded = std::move(loaded)]() mutable {
      self->OnLoaded(std::move(loaded));
    });
  });
}

Result<Room::Loaded> Room::LoadFromStore() {
  Result<storage::LoadedDoc> stored = ctx_.store->Load(name_);
  if (!stored.ok() && stored.status().code() == StatusCode::kNotFound) {
    // Opening a document that does not exist creates it, so that it has
    // an epoch before anyone holds a copy.
    QUIRE_ASSIGN_OR_RETURN(storage::DocMeta meta, ctx_.store->CreateDocument(name_));
    Loaded fresh;
    fresh.epoch = meta.epoch;
    fresh.head = meta.head_seq;
    fresh.doc = crdt::TextDoc(kServerAgent, DocLimitsOf(ctx_));
    return fresh;
  }
  if (!stored.ok()) return stored.status();
  QUIRE_ASSIGN_OR_RETURN(crdt::TextDoc doc, DocAt(stored->snapshot, DocLimitsOf(ctx_)));
  for (const storage::StoredChange& c : stored->tail) {
    QUIRE_ASSIGN_OR_RETURN(crdt::Change change, crdt::DecodeChange(c.change));
    Status s = doc.Integrate(change);
    if (!s.ok()) {
      return Corruption("document '" + name_ + "' change " + std::to_string(c.seq) + ": " +
                        s.message());
    }
  }
  Loaded loaded;
  loaded.epoch = stored->meta.epoch;
  loaded.head = stored->meta.head_seq;
  loaded.doc = std::move(doc);
  return loaded;
}

void Room::OnLoaded(Result<Loaded> loaded) {
  loading_ = false;
  std::vector<Deferred> deferred = std::move(deferred_);
  deferred_.clear();
  if (!loaded.ok()) {
    load_error_ = loaded.status();
    ctx_.rooms->Drop(shared_from_this(), 0, /*force=*/true);
    for (Deferred& d : deferred) {
      if (d.channel) {
        d.peer->SendError(ProtocolError{ErrorCode::kUnavailable,
                                        "the document cannot be loaded: " + load_error_.message(),
                                        d.channel, std::nullopt},
                          std::nullopt);
      }
    }
    return;
  }
  RoomLimits limits;
  limits.presence_interval_ms = ctx_.options.presence_interval.count();
  limits.presence.ttl_ms = ctx_.options.presence_ttl.count();
  state_.emplace(name_, loaded->epoch, loaded->head, std::move(loaded->doc), this, limits);
  for (Deferred& d : deferred) d.run(*state_);
  AfterEvent();
}

// ---- Messages, on the strand ----

void Room::Run(Deferred d) {
  if (loading_) {
    deferred_.push_back(std::move(d));
    return;
  }
  if (!state_) {
    if (d.channel) {
      d.peer->SendError(ProtocolError{ErrorCode::kUnavailable,
                                      "the document cannot be loaded: " + load_error_.message(),
                                      d.channel, std::nullopt},
                        std::nullopt);
    }
    return;
  }
  d.run(*state_);
  AfterEvent();
}

void Room::Open(MemberInfo member, OpenMsg open) {
  asio::post(strand_, [self = shared_from_this(), member = std::move(member),
                       open = std::move(open)]() mutable {
    std::shared_ptr<Peer> peer = member.peer;
    const uint16_t channel = open.channel;
    self->Run(Deferred{[member = std::move(member), open = std::move(open)](RoomState& s) mutable {
                         s.Open(std::move(member), open);
                       },
                       std::move(peer), channel});
  });
}

void Room::Close(std::shared_ptr<Peer> peer, uint16_t channel) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer), channel]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p, channel](RoomState& s) { s.Close(p, channel); }, std::move(peer),
                       std::nullopt});
  });
}

void Room::Leave(std::shared_ptr<Peer> peer) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer)]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p](RoomState& s) { s.Leave(p); }, std::move(peer), std::nullopt});
  });
}

void Room::Change(std::shared_ptr<Peer> peer, ChangeMsg msg) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer),
                       msg = std::move(msg)]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p, msg = std::move(msg)](RoomState& s) mutable { s.Change(p, std::move(msg)); },
                       std::move(peer), std::nullopt});
  });
}

void Room::Op(std::shared_ptr<Peer> peer, OpMsg msg) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer),
                       msg = std::move(msg)]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p, msg = std::move(msg)](RoomState& s) mutable { s.Op(p, std::move(msg)); },
                       std::move(peer), std::nullopt});
  });
}

void Room::SetPresence(std::shared_ptr<Peer> peer, PresenceSetMsg msg) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer),
                       msg = std::move(msg)]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p, msg = std::move(msg)](RoomState& s) mutable {
                         s.SetPresence(p, std::move(msg));
                       },
                       std::move(peer), std::nullopt});
  });
}

void Room::Broadcast(std::shared_ptr<Peer> peer, BroadcastMsg msg) {
  asio::post(strand_, [self = shared_from_this(), peer = std::move(peer),
                       msg = std::move(msg)]() mutable {
    const Peer* p = peer.get();
    self->Run(Deferred{[p, msg = std::move(msg)](RoomState& s) { s.Broadcast(p, msg); },
                       std::move(peer), std::nullopt});
  });
}

void Room::SchedulePresence() {
  if (presence_armed_ || !state_ || state_->present() == 0) return;
  // Soon when something changed; otherwise once a second, for typing flags
  // that run out and members that went silent.
  presence_armed_ = true;
  presence_timer_.expires_after(state_->presence_dirty() ? ctx_.options.presence_interval
                                                         : std::chrono::milliseconds(1000));
  presence_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->presence_armed_ = false;
    if (!self->state_) return;
    if (ec) return self->SchedulePresence();  // Cancelled to flush sooner.
    self->state_->FlushPresence();
    self->AfterEvent();
  });
}

void Room::Visit(std::function<void(const RoomState*)> fn) {
  asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
    if (self->loading_) {
      self->deferred_.push_back(
          Deferred{[fn](RoomState& s) { fn(&s); }, nullptr, std::nullopt});
      return;
    }
    fn(self->state_ ? &*self->state_ : nullptr);
  });
}

void Room::AfterEvent() {
  if (!state_) return;
  if (state_->broken()) {
    ctx_.rooms->Drop(shared_from_this(), 0, /*force=*/true);
    return;
  }
  if (state_->presence_dirty() && presence_armed_ &&
      presence_timer_.expiry() - std::chrono::steady_clock::now() > ctx_.options.presence_interval) {
    // The slow tick is armed but something changed: flush sooner.
    presence_timer_.cancel();
  }
  SchedulePresence();
  if (!state_->Idle() || users_.load() != 0) return;
  const uint64_t seen = acquisitions_.load();
  idle_timer_.expires_after(ctx_.options.evict_after);
  idle_timer_.async_wait([self = shared_from_this(), seen](const boost::system::error_code& ec) {
    if (ec) return;  // Re-armed or cancelled.
    if (self->state_ && self->state_->Idle() &&
        self->ctx_.rooms->Drop(self, seen, /*force=*/false) && self->ctx_.metrics != nullptr) {
      self->ctx_.metrics->Eviction();
    }
  });
}

// ---- RoomHost ----

void Room::Append(uint64_t seq, storage::NewChange change) {
  to_commit_.push_back(std::move(change));
  to_commit_last_ = seq;
  ScheduleCommit();
}

// The room's cadence: a change that finds the room quiet goes to the store
// at once; those that follow within the interval wait for one write
// together, and their acks and relays then go out as one run (RelayRun).
// Each run costs a socket write per member, so the interval grows with
// the room (members / room_write_rate, at most batch_max): a room's
// writes stay bounded however many type in it, and a small room's
// changes wait for little or nothing.
std::chrono::microseconds Room::BatchInterval() const {
  const ServerOptions& o = ctx_.options;
  if (o.room_write_rate <= 0 || !state_) return std::chrono::microseconds(0);
  const double us = 1e6 * static_cast<double>(state_->member_count()) / o.room_write_rate;
  return std::min(o.batch_max, std::chrono::microseconds(static_cast<int64_t>(us)));
}

void Room::ScheduleCommit() {
  if (commit_armed_) return;  // The timer takes it.
  const auto interval = BatchInterval();
  const auto due = last_commit_ + interval;
  if (interval.count() == 0 || std::chrono::steady_clock::now() >= due) return Commit();
  commit_armed_ = true;
  commit_timer_.expires_at(due);
  commit_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->commit_armed_ = false;
    if (!ec) self->Commit();
  });
}

void Room::Commit() {
  if (to_commit_.empty()) return;
  last_commit_ = std::chrono::steady_clock::now();
  const uint64_t last = to_commit_last_;
  const uint64_t first = last + 1 - to_commit_.size();
  std::vector<storage::AppendRequest> batch(1);
  batch[0].doc = name_;
  batch[0].changes = std::move(to_commit_);
  to_commit_.clear();
  ctx_.store->AppendAsync(
      std::move(batch), [self = shared_from_this(), first, last,
                         started = std::chrono::steady_clock::now()](Result<std::vector<uint64_t>> r) {
        // On the store's writer thread: hand the result to the strand.
        if (self->ctx_.metrics != nullptr) {
          self->ctx_.metrics->StorageWrite(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
        Status s = !r.ok()            ? r.status()
                   : (*r)[0] == first ? Status::Ok()
                                      : Status(StatusCode::kInternal,
                                               "the store gave seq " + std::to_string((*r)[0]) +
                                                   ", the room expected " + std::to_string(first));
        asio::post(self->strand_, [self, last, s = std::move(s)] {
          self->state_->OnAppendedThrough(last, s);
          self->AfterEvent();
        });
      });
}

void Room::LoadHistory(uint64_t from, uint64_t to) {
  asio::post(*ctx_.loaders, [self = shared_from_this(), from, to] {
    // The patches of seqs (from, to]: replay the log from the newest
    // snapshot at or before `from`, keeping the patch of each later change.
    auto rebuild = [&]() -> Result<std::vector<Patch>> {
      uint64_t at = 0;
      std::string bytes;
      auto snap = self->ctx_.store->SnapshotAtOrBefore(self->name_, from);
      if (snap.ok()) {
        at = snap->first;
        bytes = std::move(snap->second);
      } else if (snap.status().code() != StatusCode::kNotFound) {
        return snap.status();
      }
      QUIRE_ASSIGN_OR_RETURN(crdt::TextDoc doc, DocAt(bytes, DocLimitsOf(self->ctx_)));
      std::vector<Patch> patches;
      while (at < to) {
        QUIRE_ASSIGN_OR_RETURN(
            std::vector<storage::StoredChange> chunk,
            self->ctx_.store->ReadChanges(self->name_, at + 1, kReadChunkChanges, kReadChunkBytes));
        if (chunk.empty()) return Corruption("the log ends before seq " + std::to_string(to));
        for (const storage::StoredChange& c : chunk) {
          if (c.seq > to) break;
          QUIRE_ASSIGN_OR_RETURN(crdt::Change change, crdt::DecodeChange(c.change));
          if (c.seq <= from) {
            QUIRE_RETURN_IF_ERROR(doc.Integrate(change));
          } else {
            QUIRE_ASSIGN_OR_RETURN(ot::TextOp patch, doc.Apply(change));
            patches.push_back(Patch{std::move(patch), change.id});
          }
          at = c.seq;
        }
      }
      return patches;
    };
    Result<std::vector<Patch>> patches = rebuild();
    asio::post(self->strand_, [self, from, to, patches = std::move(patches)]() mutable {
      if (!self->state_) return;
      self->state_->OnHistory(from, to, std::move(patches));
      self->AfterEvent();
    });
  });
}

int64_t Room::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- Rooms ----

std::shared_ptr<Room> Rooms::Acquire(const std::string& name) {
  std::shared_ptr<Room> room;
  bool created = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Room>& slot = rooms_[name];
    if (!slot) {
      slot = std::make_shared<Room>(ctx_, name);
      created = true;
    }
    room = slot;
    room->users_.fetch_add(1);
    room->acquisitions_.fetch_add(1);
  }
  if (created) room->StartLoading();
  return room;
}

void Rooms::Release(const std::shared_ptr<Room>& room) {
  if (room->users_.fetch_sub(1) == 1) {
    // The last holder left: the room may go idle.
    asio::post(room->strand_, [room] { room->AfterEvent(); });
  }
}

bool Rooms::Drop(const std::shared_ptr<Room>& room, uint64_t seen, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rooms_.find(room->name());
  if (it == rooms_.end() || it->second != room) return false;
  if (!force && (room->users_.load() != 0 || room->acquisitions_.load() != seen)) return false;
  rooms_.erase(it);
  return true;
}

std::vector<std::shared_ptr<Room>> Rooms::All() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Room>> out;
  out.reserve(rooms_.size());
  for (auto& [name, room] : rooms_) out.push_back(room);
  return out;
}

size_t Rooms::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return rooms_.size();
}

}  // namespace quire::server
