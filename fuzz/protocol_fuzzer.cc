// Arbitrary bytes into the server's message decoder and into a room: the
// input is a sequence of frames, each `[len u8][control u8][len - 1 bytes]`.
// The control byte picks which of three sessions sends the frame (two
// CRDT sessions, one OT session) and whether the store makes what is
// queued durable afterwards. Every frame must decode or be refused with a
// code; the room must never crash, never hand out a seq twice, and keep a
// valid replica. Frames that decode are routed as the server routes them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string_view>

#include "server/protocol.h"
#include "server/room_state.h"

namespace {

using namespace quire;
using namespace quire::server;

void Check(bool ok) {
  if (!ok) std::abort();
}

class NullPeer : public Peer {
 public:
  void Send(Frame frame) override {
    // What the room sends must itself decode.
    Check(DecodeServerFrame(frame.Bytes()).ok());
  }
  void SendError(const ProtocolError& e, std::optional<uint64_t> epoch) override {
    Send(ErrorFrame(e, epoch));
  }
  void Fail() override {}
};

class QueueHost : public RoomHost {
 public:
  void Append(uint64_t seq, storage::NewChange change) override {
    Check(seq == last_seq_ + 1);  // Seqs are handed out once, in order.
    last_seq_ = seq;
    Check(!change.change.empty());
    pending_.push_back(seq);
  }
  void LoadHistory(uint64_t, uint64_t) override { history_asked_ = true; }
  int64_t NowMs() override { return 0; }

  void Persist(RoomState& room) {
    while (!pending_.empty()) {
      const uint64_t seq = pending_.front();
      pending_.pop_front();
      room.OnAppended(seq, Status::Ok());
    }
  }
  bool history_asked_ = false;

 private:
  uint64_t last_seq_ = 0;
  std::deque<uint64_t> pending_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  QueueHost host;
  RoomLimits limits;
  limits.history_ops = 8;
  RoomState room("fuzz", 1, 0, crdt::TextDoc(crdt::AgentId{0}, crdt::DocLimits{1 << 16, 1 << 16}),
                 &host, limits);
  std::shared_ptr<Peer> peers[3] = {std::make_shared<NullPeer>(), std::make_shared<NullPeer>(),
                                    std::make_shared<NullPeer>()};
  const Mode modes[3] = {Mode::kCrdt, Mode::kCrdt, Mode::kOt};
  // Agents 1 and 2 author CRDT changes, agent 3 OT ops.
  for (int i = 0; i < 3; ++i) {
    OpenMsg open;
    open.channel = 0;
    open.mode = modes[i];
    room.Open(MemberInfo{peers[i], 0, modes[i], crdt::AgentId{uint64_t(i) + 1}, "fuzz",
                         uint64_t(i) + 1, "fuzz"},
              open);
  }
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (in.size() >= 2) {
    const size_t len = static_cast<uint8_t>(in[0]);
    const uint8_t control = static_cast<uint8_t>(in[1]);
    in.remove_prefix(2);
    const std::string_view frame = in.substr(0, len);
    in.remove_prefix(frame.size());
    const int who = control % 3;
    ClientMessage msg;
    if (!DecodeClientMessage(frame, &msg).has_value()) {
      if (auto* c = std::get_if<ChangeMsg>(&msg)) {
        c->channel = 0;
        room.Change(peers[who].get(), std::move(*c));
      } else if (auto* o = std::get_if<OpMsg>(&msg)) {
        o->channel = 0;
        room.Op(peers[who].get(), std::move(*o));
      } else if (auto* p = std::get_if<PresenceSetMsg>(&msg)) {
        p->channel = 0;
        room.SetPresence(peers[who].get(), std::move(*p));
      } else if (auto* b = std::get_if<BroadcastMsg>(&msg)) {
        b->channel = 0;
        room.Broadcast(peers[who].get(), *b);
      }
    }
    if (control & 0x80) host.Persist(room);
    if (control & 0x40) room.FlushPresence();
    if (room.broken()) break;
  }
  host.Persist(room);
  Check(room.durable() == room.head());
  room.doc().CheckInvariants();
  return 0;
}
