// RoomPresence is who is in one document and what they show the others:
// a user (id, name, color), a cursor and selections anchored to
// characters, a typing flag and a small app-defined map, per member
// session, with a clock that counts its updates. It is ephemeral (no
// disk) and passive (no clock, no socket): the server's room drives it,
// passing the time in, and sends what TakeChanges() returns at most every
// presence interval, encoded once for everyone (docs/protocol.md,
// "Presence and broadcast").
//
// Anchors are CRDT ids with a side, so a cursor stays on its character
// while others type; the server converts OT clients' positions to and from
// anchors with the room's replica.
//
// Thread safety: none; the owning room's strand.
#ifndef QUIRE_PRESENCE_PRESENCE_H_
#define QUIRE_PRESENCE_PRESENCE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crdt/id.h"

namespace quire::presence {

// A place in the text: just before (or after) character `id`; Id::Root()
// is the document's start.
struct Anchor {
  crdt::Id id = crdt::Id::Root();
  bool after = false;
  friend bool operator==(const Anchor&, const Anchor&) = default;
};

struct Selection {
  Anchor anchor, head;
  friend bool operator==(const Selection&, const Selection&) = default;
};

// Bits naming the keys of a state (and which changed).
enum Key : uint8_t {
  kUser = 1,
  kCursor = 2,
  kSelections = 4,
  kTyping = 8,
  kApp = 16,
  kAllKeys = 31,
};

struct State {
  std::string user_id, name, color;  // color: "#rrggbb".
  std::optional<Anchor> cursor;
  std::vector<Selection> selections;
  bool typing = false;
  std::string app;  // An encoded msgpack map, or empty.
  friend bool operator==(const State&, const State&) = default;
};

// What one presence_set changes: the keys in `keys`, the rest untouched.
struct Update {
  uint8_t keys = 0;
  std::optional<std::string> name, color;  // kUser: either may be absent.
  std::optional<Anchor> cursor;            // kCursor: nullopt clears it.
  std::vector<Selection> selections;
  bool typing = false;
  std::string app;  // kApp: encoded map; empty clears it.
};

struct Limits {
  size_t max_app_bytes = 1024;
  size_t max_selections = 16;
  size_t max_name_bytes = 64;
  double updates_per_second = 30;  // Per member: a token bucket...
  double burst = 60;               // ...of this size.
  int64_t ttl_ms = 30000;          // Silent this long: no longer present.
  int64_t typing_ms = 3000;        // The typing flag's life after an edit.
};

// One member in TakeChanges() or Snapshot(). `keys` says which fields of
// `state` are meant (all of them in a snapshot); `left` means it is gone.
struct Entry {
  uint64_t session = 0;
  uint64_t clock = 0;
  uint8_t keys = 0;
  bool left = false;
  State state;
};

// The color a user gets unless it picks one: the same for a user id
// everywhere, spread over a palette that reads well on white.
std::string ColorFor(std::string_view user_id);

class RoomPresence {
 public:
  explicit RoomPresence(const Limits& limits) : limits_(limits) {}

  // The member is present from now on with this user (joining again after
  // it expired is the same). Everyone sees it join at the next flush.
  void Join(uint64_t session, const std::string& user_id, const std::string& name, int64_t now_ms);
  // Applies an update from a present member (one that is not present
  // joins first). ResourceExhausted past its budget, InvalidArgument for
  // an app map, name or selection list over its limit; nothing changes then.
  Status Apply(uint64_t session, const Update& update, int64_t now_ms);
  // The member was heard from (anything it sent on the document).
  void Touch(uint64_t session, int64_t now_ms);
  // The member's edit was accepted: it is typing for a while.
  void Typed(uint64_t session, int64_t now_ms);
  void Leave(uint64_t session);
  // Clears typing flags that ran out and drops members silent past the
  // TTL. Returns the sessions dropped.
  std::vector<uint64_t> Tick(int64_t now_ms);

  bool present(uint64_t session) const { return members_.count(session) > 0; }
  size_t size() const { return members_.size(); }
  bool dirty() const { return !changed_.empty() || !left_.empty(); }
  // What changed since the last call, member by member (only the changed
  // keys), and who left; then nothing is dirty.
  std::vector<Entry> TakeChanges();
  // Everyone present, with every key: what a newcomer gets.
  std::vector<Entry> Snapshot() const;

 private:
  struct Member {
    State state;
    uint64_t clock = 0;
    int64_t last_seen_ms = 0;
    int64_t typing_until_ms = 0;
    double tokens = 0;
    int64_t refilled_ms = 0;
  };
  void Changed(uint64_t session, Member& m, uint8_t keys);
  bool TakeToken(Member& m, int64_t now_ms);

  Limits limits_;
  std::map<uint64_t, Member> members_;
  std::map<uint64_t, uint8_t> changed_;  // session -> keys changed since the last flush.
  std::vector<uint64_t> left_;
};

}  // namespace quire::presence

#endif  // QUIRE_PRESENCE_PRESENCE_H_
