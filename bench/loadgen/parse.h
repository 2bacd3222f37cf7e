// A lean reader of server frames for load clients. The two messages that
// make up nearly all traffic, relays and acks, are read field by field
// with no allocation (a relay's change or op stays as its bytes); anything
// else is decoded in full with the protocol's own DecodeServerFrame.
//
// Thread safety: free functions.
#ifndef QUIRE_BENCH_LOADGEN_PARSE_H_
#define QUIRE_BENCH_LOADGEN_PARSE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/protocol.h"

namespace quire::loadgen {

// remote_change [25, ch, seq, change] or remote_op [26, ch, seq, op, origin].
struct Relay {
  bool is_op = false;
  uint16_t channel = 0;
  uint64_t seq = 0;
  // The change's id (CRDT) or the op's origin (OT): who wrote it.
  uint64_t agent = 0, agent_seq = 0;
  std::string_view body;     // Every field after the channel: what the room shares.
  std::string_view payload;  // The change's or the op's own encoding.
};

// One entry of a `presence` message [49, ch, seq, entries], read lean: who,
// its clock, and its cursor when the state holds one as a position (what
// OT clients are sent).
struct PresenceEntry {
  uint64_t session = 0;
  uint64_t clock = 0;
  bool left = false;                // The state was nil.
  std::optional<uint64_t> cursor;   // Set when the state has a positional cursor.
};

class FrameVisitor {
 public:
  virtual ~FrameVisitor() = default;
  virtual void OnRelay(const Relay& relay) = 0;
  virtual void OnAck(const server::AckMsg& ack) = 0;
  virtual void OnMessage(server::ServerMessage& message) = 0;  // Anything else.
  virtual void OnBadFrame(const std::string& why) = 0;
  // A visitor that answers true gets each `presence` entry through
  // OnPresenceEntry instead of the decoded message.
  virtual bool WantsPresenceEntries() const { return false; }
  virtual void OnPresenceEntry(uint16_t /*channel*/, const PresenceEntry& /*entry*/) {}
  // ...and, after its entries, the encoded size of the whole message.
  virtual void OnPresenceMessage(size_t /*bytes*/) {}
};

// Calls the visitor for each message of `frame` (a batch holds several), in
// order.
void ParseServerFrame(std::string_view frame, FrameVisitor& visitor);

// What a remote op does, read from its bytes without building it: to the
// text's length, to a caret (which moves with inserts before it and at it,
// and with deletes before it), and to the position of an insert of one's
// own that is being caught up across the op (which moves only with inserts
// strictly before it: ShareDB's convention puts the caught-up op's text
// first; a deleted range that holds it brings it to the range's start):
// for an insert of one's own that is ot::Transform(op, remote, kLeft).
struct OpEffect {
  uint64_t caret = 0;
  uint64_t insert_at = 0;
  int64_t length_delta = 0;
};
// false for malformed bytes.
bool WalkOp(std::string_view op_bytes, OpEffect* effect);

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_PARSE_H_
