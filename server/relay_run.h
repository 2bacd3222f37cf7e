// RelayRun is a room's delivery of consecutive accepted changes that became
// durable together (one store write): every member gets the whole run as
// one Frame, the others' changes as relays and each of its own as its ack,
// in seq order.
//
// The relays are encoded once per run for each (mode, channel) its members
// use, as whole messages back to back, and every member on that channel
// shares the bytes: a member's Frame is a slice of them (a member that
// wrote some of the changes gets the slices between its acks). So a room
// that delivers a run of k changes to N members encodes k messages per
// channel in use, allocates nothing per member but its Frames, and costs
// each session one queued Frame and one write, not k (docs/server.md).
//
// Thread safety: none; the room's strand.
#ifndef QUIRE_SERVER_RELAY_RUN_H_
#define QUIRE_SERVER_RELAY_RUN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/frame.h"
#include "server/protocol.h"

namespace quire::server {

class RelayRun {
 public:
  struct Entry {
    uint64_t seq = 0;
    const Peer* author = nullptr;
    uint16_t author_channel = 0;
    uint64_t ref = 0;
    uint64_t agent_next = 0;  // The author's agent's next seq after it.
    std::shared_ptr<const std::string> change_body;  // [seq, change] for CRDT members.
    std::shared_ptr<const std::string> op_body;      // [seq, op, origin] for OT members.
  };

  // REQUIRES: seqs increase.
  void Add(Entry entry);
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // Sends the run to the member `peer` on `channel`: the others' changes
  // as relays of its mode, each of its own as an ack. Returns true when it
  // held one of its own.
  bool SendTo(Peer& peer, uint16_t channel, Mode mode);

  // Empties it for the next run, keeping its capacity.
  void Clear();

 private:
  // The run as messages for one (mode, channel): bytes, and where message
  // i starts (offsets[i]) and ends (offsets[i + 1]).
  struct Encoded {
    Mode mode = Mode::kCrdt;
    uint16_t channel = 0;
    std::shared_ptr<const std::string> bytes;
    std::vector<uint32_t> offsets;
    bool complete = true;  // Every entry has a body of this mode.
  };

  const Encoded& EncodedFor(Mode mode, uint16_t channel);
  // Messages [from, to) of `e` as one Frame.
  static Frame Slice(const Encoded& e, size_t from, size_t to);
  static void SendSlice(Peer& peer, const Encoded& e, size_t from, size_t to);

  std::vector<Entry> entries_;
  std::vector<Encoded> encoded_;
  // (author, entry index), sorted by author once the first member is sent
  // to: a member finds its own entries without a scan of the run.
  std::vector<std::pair<const Peer*, uint32_t>> authors_;
  bool authors_sorted_ = false;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_RELAY_RUN_H_
