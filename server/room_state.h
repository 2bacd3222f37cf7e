// RoomState is one open document on the server: its replica, its seq, a
// window of recent patches for OT clients, its members, and the pipeline
// that turns accepted changes into durable acks and relays in seq order
// (docs/server.md, "The life of a change"). It does no I/O and owns no
// thread: the asio Room (room.h) runs it on the room's strand and carries
// out what it asks of its RoomHost. That keeps the protocol logic testable
// and fuzzable without sockets.
//
// The pipeline. A change is validated and integrated into the replica at
// once (the next change builds on it), given the next seq and handed to
// the host to store. Nothing about it leaves the room until the store says
// it is durable: then the author gets its ack and every other member the
// relay, in seq order. A member that joins at head h gets its catch-up
// once h is durable and the relays after h: nobody sees a change that a
// crash could still take back, and nobody sees one twice.
//
// Thread safety: none; one strand at a time.
#ifndef QUIRE_SERVER_ROOM_STATE_H_
#define QUIRE_SERVER_ROOM_STATE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crdt/text_doc.h"
#include "ot/text_op.h"
#include "presence/presence.h"
#include "server/frame.h"
#include "server/protocol.h"
#include "server/relay_run.h"
#include "storage/store.h"

namespace quire::server {

// What one accepted change did, for OT clients: the op on the text before
// it, and the change's id (which lets an OT client recognize its own op).
struct Patch {
  ot::TextOp op;
  crdt::Id origin;
};

class RoomHost {
 public:
  virtual ~RoomHost() = default;
  // Stores `change` as the document's seq `seq` (the next one). The host
  // later calls RoomState::OnAppended(seq, status) on the room's strand, in
  // the order of the Append calls.
  virtual void Append(uint64_t seq, storage::NewChange change) = 0;
  // Rebuilds the patches of seqs (from, to] from storage; the host later
  // calls RoomState::OnHistory(from, to, result) on the room's strand.
  virtual void LoadHistory(uint64_t from, uint64_t to) = 0;
  virtual int64_t NowMs() = 0;
};

// Who is asking: the session (as a Peer), the channel it uses for this
// room, and what the room needs to know of it.
struct MemberInfo {
  std::shared_ptr<Peer> peer;
  uint16_t channel = 0;
  Mode mode = Mode::kCrdt;
  crdt::AgentId agent;
  std::string user;  // Recorded as the author of its changes.
  uint64_t session = 0;  // Its id in presence (unique while the server runs).
  std::string name;      // Display name.
  // The HTTP API and event streams (room_listener.h): they read and write
  // like an OT channel but are nobody's cursor, so not in presence.
  bool observer = false;
};

struct RoomLimits {
  presence::Limits presence;
  int64_t presence_interval_ms = 50;  // 0: every update goes out at once.
  size_t max_broadcast_bytes = 4096;
  double broadcasts_per_second = 10;
  double broadcast_burst = 20;
  // Patches kept in memory for OT clients that are behind; older ones are
  // rebuilt from the store's log.
  size_t history_ops = 1024;
  size_t history_bytes = size_t{256} << 10;
};

class RoomState {
 public:
  // `doc` starts as the stored document at `head` (epoch from its metadata).
  RoomState(std::string name, uint64_t epoch, uint64_t head, crdt::TextDoc doc, RoomHost* host,
            RoomLimits limits);

  const std::string& name() const { return name_; }
  uint64_t epoch() const { return epoch_; }
  uint64_t head() const { return head_; }
  uint64_t durable() const { return durable_; }
  const crdt::TextDoc& doc() const { return doc_; }
  size_t member_count() const { return members_.size(); }
  // No members and nothing in flight: the room may be dropped.
  bool Idle() const;
  // Nothing in flight: every accepted change is durable and delivered.
  bool Settled() const { return pipeline_.empty() && waiting_.empty(); }
  // True once a store write failed: every member was failed and the room
  // must be dropped (it holds changes that are not durable).
  bool broken() const { return broken_; }

  void Open(MemberInfo member, const OpenMsg& open);
  void Close(const Peer* peer, uint16_t channel);
  // The session is gone: leave every channel it had here.
  void Leave(const Peer* peer);
  void Change(const Peer* peer, ChangeMsg msg);
  void Op(const Peer* peer, OpMsg msg);
  void SetPresence(const Peer* peer, PresenceSetMsg msg);
  void Broadcast(const Peer* peer, const BroadcastMsg& msg);
  // Expires typing flags and silent members, and sends what changed since
  // the last flush to every member (after what is in flight is durable, so
  // positions match the text they have). The room calls it at most every
  // presence interval while presence_dirty(), and about once a second
  // while anyone is present.
  void FlushPresence();
  bool presence_dirty() const { return presence_.dirty(); }
  size_t present() const { return presence_.size(); }

  void OnAppended(uint64_t seq, const Status& status);
  // OnAppended for every seq up to `seq` at once (one store write that
  // held several): what they release goes out as one run.
  void OnAppendedThrough(uint64_t seq, const Status& status);
  void OnHistory(uint64_t from, uint64_t to, Result<std::vector<Patch>> patches);

  size_t MemoryUsage() const;

 private:
  struct Member {
    MemberInfo info;
    // Receives relays once its catch-up is sent; before that it may
    // already send changes (they are acked after the catch-up).
    bool live = false;
    bool op_in_flight = false;  // OT: an op is accepted but not yet acknowledged.
    double broadcast_tokens = 0;
    int64_t broadcast_refilled_ms = 0;
  };
  // What the pipeline sends once `seq` is durable.
  struct Accepted {
    std::shared_ptr<Peer> author;
    uint16_t channel = 0;
    uint64_t ref = 0;
    bool changed = true;  // false: a duplicate or an op that rebased to nothing.
    uint64_t agent_next = 0;  // The author's agent's next seq after it.
    std::shared_ptr<const std::string> change_body;  // [seq, change] for CRDT members.
    std::shared_ptr<const std::string> op_body;      // [seq, op] for OT members.
  };
  struct CatchUp {
    std::shared_ptr<Peer> peer;
    uint16_t channel = 0;
    std::vector<Frame> frames;  // opened, catch-up, synced.
  };
  struct PresenceFlush {
    std::shared_ptr<const std::string> crdt_body, ot_body;
  };
  struct Pending {
    uint64_t seq = 0;  // Sent once this seq is durable.
    std::variant<Accepted, CatchUp, PresenceFlush> item;
  };
  // An OT open or op waiting for old patches from the store.
  struct Waiting {
    std::optional<std::pair<MemberInfo, OpenMsg>> open;
    std::optional<std::pair<std::shared_ptr<Peer>, OpMsg>> op;
  };

  Member* Find(const Peer* peer, uint16_t channel);
  bool IsMember(const Peer* peer, uint16_t channel) const;
  void SendError(const std::shared_ptr<Peer>& peer, ErrorCode code, std::string message,
                 std::optional<uint16_t> channel, std::optional<uint64_t> ref);
  std::vector<Frame> CrdtCatchUp(const Member& member, const OpenMsg& open);
  // The patches of seqs (seq, head_], or false when the window does not
  // reach back that far.
  bool PatchesSince(uint64_t seq, std::vector<Patch>* out) const;
  // The same, pointing into the window instead of copying: an op in a busy
  // room is rebased over hundreds of patches, and copying them cost more
  // than transforming. Valid until the window changes.
  bool WindowSince(uint64_t seq, std::vector<const Patch*>* out) const;
  // Rebases `msg` over `behind` (oldest first) and applies it.
  void ApplyOp(Member& member, OpMsg msg, const std::vector<const Patch*>& behind);
  void Accept(Member& author, uint64_t ref, std::string change_bytes, Patch patch);
  void AckUnchanged(const Member& author, uint64_t ref);
  std::vector<Frame> OtCatchUp(const Member& member, uint16_t channel, uint64_t seq,
                               const std::vector<Patch>& behind);
  void RequestHistory(uint64_t from);
  // Presence anchors: an OT position at `seq` as an anchor here, and an
  // anchor as a position in the text at head_.
  std::optional<presence::Anchor> AnchorAt(uint64_t seq, uint64_t pos);
  uint64_t PositionOf(const presence::Anchor& anchor);
  // A presence state from the wire, its anchors checked and converted.
  std::optional<presence::Update> ToUpdate(const Member& m, const PresenceSetMsg& msg,
                                           std::string* why);
  Frame PresenceSnapshot(const Member& m);
  void LeavePresence(const Member& m);
  void Enqueue(Pending pending);
  void Drain();
  void Deliver(Accepted& a, uint64_t seq);
  void FlushRun();  // Sends run_ to every live member.
  void Break();
  void RememberPatch(Patch patch);

  std::string name_;
  uint64_t epoch_;
  uint64_t head_;     // Seq of the newest integrated change.
  uint64_t durable_;  // Seq of the newest durable one (<= head_).
  crdt::TextDoc doc_;
  RoomHost* host_;
  RoomLimits limits_;
  bool broken_ = false;

  std::vector<Member> members_;
  std::deque<Pending> pipeline_;  // Seq order.
  // Patches of seqs (head_ - window_.size(), head_], oldest first.
  std::deque<Patch> window_;
  size_t window_bytes_ = 0;
  std::vector<Waiting> waiting_;  // Ops behind the window, until OnHistory.
  RelayRun run_;  // Durable changes Drain() is gathering for one delivery.
  bool history_requested_ = false;
  presence::RoomPresence presence_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_ROOM_STATE_H_
