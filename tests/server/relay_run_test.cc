// RelayRun: a run of durable changes reaches every member as one frame,
// with acks in place of the member's own changes, the bytes shared by
// every member on the same channel; and RoomState hands a room's
// changes that became durable together to its members as one run.
#include "server/relay_run.h"

#include <gtest/gtest.h>

#include "crdt/change_codec.h"
#include "server/room_state.h"

namespace quire::server {
namespace {

// Records the frames it is sent, and what they decode to.
class RecordingPeer : public Peer {
 public:
  void Send(Frame frame) override {
    Result<std::vector<ServerMessage>> msgs = DecodeServerFrame(frame.Bytes());
    ASSERT_TRUE(msgs.ok()) << msgs.status().ToString();
    ASSERT_EQ(msgs->size(), frame.messages);
    for (auto& m : *msgs) received.push_back(std::move(m));
    frames.push_back(std::move(frame));
  }
  void SendError(const ProtocolError& e, std::optional<uint64_t> epoch) override {
    Send(ErrorFrame(e, epoch));
  }
  void Fail() override {}

  // "ack 3", "change 2" or "op 2" per message, in order.
  std::vector<std::string> Seen() const {
    std::vector<std::string> out;
    for (const auto& m : received) {
      if (auto* a = std::get_if<AckMsg>(&m)) out.push_back("ack " + std::to_string(a->seq));
      if (auto* c = std::get_if<RemoteChangeMsg>(&m)) {
        out.push_back("change " + std::to_string(c->seq));
      }
      if (auto* o = std::get_if<RemoteOpMsg>(&m)) out.push_back("op " + std::to_string(o->seq));
    }
    return out;
  }

  std::vector<Frame> frames;
  std::vector<ServerMessage> received;
};

RelayRun::Entry EntryOf(uint64_t seq, const Peer* author, uint64_t agent) {
  crdt::TextDoc doc(crdt::AgentId{agent});
  const crdt::Change change = doc.Insert(0, "x");
  ot::TextOp op;
  op.Insert("x");
  return RelayRun::Entry{seq,
                         author,
                         /*author_channel=*/1,
                         /*ref=*/seq * 10,
                         /*agent_next=*/1,
                         RemoteChangeBody(seq, crdt::EncodeChange(change)),
                         RemoteOpBody(seq, op, change.id)};
}

TEST(RelayRunTest, EachMemberGetsTheRunWithAcksInPlaceOfItsOwnChanges) {
  RecordingPeer a, b, c, d, e;
  RelayRun run;
  run.Add(EntryOf(1, &a, 1));
  run.Add(EntryOf(2, &b, 2));
  run.Add(EntryOf(3, &a, 1));
  EXPECT_TRUE(run.SendTo(a, 1, Mode::kCrdt));
  EXPECT_TRUE(run.SendTo(b, 1, Mode::kCrdt));
  EXPECT_FALSE(run.SendTo(c, 1, Mode::kCrdt));
  EXPECT_FALSE(run.SendTo(d, 1, Mode::kCrdt));
  EXPECT_FALSE(run.SendTo(e, 2, Mode::kOt));

  EXPECT_EQ(a.Seen(), (std::vector<std::string>{"ack 1", "change 2", "ack 3"}));
  EXPECT_EQ(b.Seen(), (std::vector<std::string>{"change 1", "ack 2", "change 3"}));
  EXPECT_EQ(c.Seen(), (std::vector<std::string>{"change 1", "change 2", "change 3"}));
  EXPECT_EQ(e.Seen(), (std::vector<std::string>{"op 1", "op 2", "op 3"}));
  const auto& ack = std::get<AckMsg>(a.received[2]);
  EXPECT_EQ(ack.ref, 30u);
  EXPECT_EQ(ack.channel, 1);
  EXPECT_EQ(std::get<RemoteOpMsg>(e.received[0]).channel, 2);

  // Members that wrote nothing get one frame, and members on one channel
  // share its bytes.
  ASSERT_EQ(c.frames.size(), 1u);
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(c.frames[0].messages, 3u);
  EXPECT_EQ(c.frames[0].body.get(), d.frames[0].body.get());
  // The author's slices are cut from the same bytes.
  ASSERT_EQ(b.frames.size(), 3u);
  EXPECT_EQ(b.frames[0].body.get(), c.frames[0].body.get());
}

TEST(RelayRunTest, AnAuthorOnTwoChannelsIsAckedOnTheOneItWroteOn) {
  RecordingPeer a;
  RelayRun run;
  run.Add(EntryOf(1, &a, 1));  // Written on channel 1.
  EXPECT_FALSE(run.SendTo(a, 5, Mode::kCrdt));
  EXPECT_TRUE(run.SendTo(a, 1, Mode::kCrdt));
  EXPECT_EQ(a.Seen(), (std::vector<std::string>{"change 1", "ack 1"}));
}

class NullHost : public RoomHost {
 public:
  void Append(uint64_t seq, storage::NewChange) override { last = seq; }
  void LoadHistory(uint64_t, uint64_t) override {}
  int64_t NowMs() override { return 0; }
  uint64_t last = 0;
};

TEST(RelayRunTest, ChangesDurableTogetherReachEachMemberAsOneFrame) {
  NullHost host;
  RoomState room("doc", 7, 0, crdt::TextDoc(crdt::AgentId{0}), &host, RoomLimits{});
  auto a = std::make_shared<RecordingPeer>();
  auto b = std::make_shared<RecordingPeer>();
  auto c = std::make_shared<RecordingPeer>();
  OpenMsg open;
  open.channel = 1;
  open.doc = "doc";
  room.Open(MemberInfo{a, 1, Mode::kCrdt, crdt::AgentId{10}, "u", 1, "a"}, open);
  room.Open(MemberInfo{b, 1, Mode::kCrdt, crdt::AgentId{11}, "u", 2, "b"}, open);
  room.Open(MemberInfo{c, 1, Mode::kCrdt, crdt::AgentId{12}, "u", 3, "c"}, open);
  crdt::TextDoc da(crdt::AgentId{10}), db(crdt::AgentId{11});
  const crdt::Change ca = da.Insert(0, "a"), cb = db.Insert(0, "b");
  room.Change(a.get(), ChangeMsg{1, 1, ca, crdt::EncodeChange(ca)});
  room.Change(b.get(), ChangeMsg{1, 2, cb, crdt::EncodeChange(cb)});
  ASSERT_EQ(host.last, 2u);
  const size_t before = c->frames.size();  // opened, synced
  room.OnAppendedThrough(2, Status::Ok());
  ASSERT_EQ(c->frames.size(), before + 1);
  EXPECT_EQ(c->frames.back().messages, 2u);
  EXPECT_EQ(a->Seen(), (std::vector<std::string>{"ack 1", "change 2"}));
  EXPECT_EQ(b->Seen(), (std::vector<std::string>{"change 1", "ack 2"}));
  EXPECT_EQ(room.durable(), 2u);
  // A seq the room never gave, or one that goes back, breaks it.
  room.OnAppendedThrough(2, Status::Ok());
  EXPECT_TRUE(room.broken());
}

}  // namespace
}  // namespace quire::server
