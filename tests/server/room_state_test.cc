// RoomState without sockets: fake sessions record what they are sent, a
// fake host holds appends until the test says they are durable.
#include "server/room_state.h"

#include <deque>

#include <gtest/gtest.h>

#include "crdt/change_codec.h"

namespace quire::server {
namespace {

class FakePeer : public Peer {
 public:
  void Send(Frame frame) override {
    Result<std::vector<ServerMessage>> msgs = DecodeServerFrame(frame.Bytes());
    ASSERT_TRUE(msgs.ok()) << msgs.status().ToString();
    for (auto& m : *msgs) received.push_back(std::move(m));
  }
  void SendError(const ProtocolError& e, std::optional<uint64_t> epoch) override {
    Send(ErrorFrame(e, epoch));
  }
  void Fail() override { failed = true; }

  template <typename T>
  std::vector<T> All() const {
    std::vector<T> out;
    for (const auto& m : received) {
      if (const T* t = std::get_if<T>(&m)) out.push_back(*t);
    }
    return out;
  }
  std::vector<ErrorCode> Errors() const {
    std::vector<ErrorCode> out;
    for (const ErrorMsg& e : All<ErrorMsg>()) out.push_back(e.code);
    return out;
  }

  std::vector<ServerMessage> received;
  bool failed = false;
};

class FakeHost : public RoomHost {
 public:
  void Append(uint64_t seq, storage::NewChange change) override {
    appends.emplace_back(seq, std::move(change));
  }
  void LoadHistory(uint64_t from, uint64_t to) override { history.emplace_back(from, to); }
  int64_t NowMs() override { return 1000; }

  std::deque<std::pair<uint64_t, storage::NewChange>> appends;
  std::vector<std::pair<uint64_t, uint64_t>> history;
};

class RoomStateTest : public ::testing::Test {
 protected:
  RoomStateTest()
      : room_("doc", /*epoch=*/7, /*head=*/0, crdt::TextDoc(crdt::AgentId{0}), &host_, RoomLimits{}) {}

  std::shared_ptr<FakePeer> Join(Mode mode, uint64_t agent, uint64_t have_seq = 0) {
    auto peer = std::make_shared<FakePeer>();
    OpenMsg open;
    open.channel = 1;
    open.doc = "doc";
    open.mode = mode;
    open.seq = have_seq;
    room_.Open(MemberInfo{peer, 1, mode, crdt::AgentId{agent}, "user", agent, "name"}, open);
    return peer;
  }
  // Makes every queued append durable, in order.
  void Persist() { Persist(room_); }
  void Persist(RoomState& room) {
    while (!host_.appends.empty()) {
      const uint64_t seq = host_.appends.front().first;
      host_.appends.pop_front();
      room.OnAppended(seq, Status::Ok());
    }
  }
  void SendChange(const std::shared_ptr<FakePeer>& peer, const crdt::Change& c, uint64_t ref) {
    room_.Change(peer.get(), ChangeMsg{1, ref, c, crdt::EncodeChange(c)});
  }
  void SendOp(const std::shared_ptr<FakePeer>& peer, ot::TextOp op, uint64_t base, uint64_t ref,
              uint64_t agent_seq) {
    OpMsg m;
    m.channel = 1;
    m.ref = ref;
    m.base_seq = base;
    m.op = std::move(op);
    m.agent_seq = agent_seq;
    room_.Op(peer.get(), std::move(m));
  }

  FakeHost host_;
  RoomState room_;
};

// A room whose window keeps only two ops, so that an op made at an older
// seq must wait for the store's log.
class SmallWindowTest : public RoomStateTest {
 protected:
  static RoomLimits TwoOps() {
    RoomLimits limits;
    limits.history_ops = 2;
    return limits;
  }
  SmallWindowTest() : room("doc", 7, 0, crdt::TextDoc(crdt::AgentId{0}), &host_, TwoOps()) {}

  std::shared_ptr<FakePeer> JoinOt(uint64_t agent, uint64_t session) {
    auto peer = std::make_shared<FakePeer>();
    OpenMsg open;
    open.channel = 1;
    open.mode = Mode::kOt;
    room.Open(MemberInfo{peer, 1, Mode::kOt, crdt::AgentId{agent}, "u", session, "p"}, open);
    return peer;
  }
  // `author` (agent 90) types "a" `n` times at the head; the first
  // `durable` ops become durable (all by default). Returns the log.
  std::vector<Patch> TypeA(FakePeer* author, int n, int durable = -1) {
    std::vector<Patch> log;
    for (int i = 0; i < n; ++i) {
      OpMsg m = OpAt(static_cast<uint64_t>(i), "a");
      m.ref = static_cast<uint64_t>(i);
      m.agent_seq = static_cast<uint64_t>(i);
      log.push_back(Patch{m.op, crdt::Id{crdt::AgentId{90}, static_cast<uint64_t>(i)}});
      room.Op(author, std::move(m));
      if (durable < 0 || i < durable) Persist(room);
    }
    return log;
  }
  static OpMsg OpAt(uint64_t base, const char* text) {
    OpMsg m;
    m.channel = 1;
    m.ref = 1;
    m.base_seq = base;
    m.op.Insert(text);
    return m;
  }

  RoomState room;
};

TEST_F(RoomStateTest, NothingLeavesTheRoomBeforeItIsDurable) {
  auto a = Join(Mode::kCrdt, 10);
  auto b = Join(Mode::kCrdt, 11);
  auto c = Join(Mode::kOt, 12);
  crdt::TextDoc local(crdt::AgentId{10});
  SendChange(a, local.Insert(0, "hi"), 5);
  EXPECT_TRUE(a->All<AckMsg>().empty());
  EXPECT_TRUE(b->All<RemoteChangeMsg>().empty());
  ASSERT_EQ(host_.appends.size(), 1u);
  EXPECT_EQ(host_.appends[0].second.author, "user");
  Persist();
  ASSERT_EQ(a->All<AckMsg>().size(), 1u);
  EXPECT_EQ(a->All<AckMsg>()[0].ref, 5u);
  EXPECT_EQ(a->All<AckMsg>()[0].seq, 1u);
  EXPECT_EQ(a->All<AckMsg>()[0].agent_next, 2u);
  ASSERT_EQ(b->All<RemoteChangeMsg>().size(), 1u);
  EXPECT_EQ(b->All<RemoteChangeMsg>()[0].seq, 1u);
  ASSERT_EQ(c->All<RemoteOpMsg>().size(), 1u);
  ot::TextOp want;
  want.Insert("hi");
  EXPECT_EQ(c->All<RemoteOpMsg>()[0].op, want);
  EXPECT_EQ(c->All<RemoteOpMsg>()[0].origin, (crdt::Id{crdt::AgentId{10}, 0}));
}

TEST_F(RoomStateTest, OtOpsFromTwoClientsAtTheSameBaseConverge) {
  auto a = Join(Mode::kOt, 20);
  auto b = Join(Mode::kOt, 21);
  Persist();
  ot::TextOp x, y;
  x.Insert("x");
  y.Insert("y");
  SendOp(a, x, 0, 1, 0);
  SendOp(b, y, 0, 1, 0);  // Rebased across a's op.
  Persist();
  // ShareDB's convention: the op caught up goes left: "yx".
  EXPECT_EQ(room_.doc().Text(), "yx");
  ASSERT_EQ(b->All<AckMsg>().size(), 1u);
  EXPECT_EQ(b->All<AckMsg>()[0].seq, 2u);
  ASSERT_EQ(a->All<RemoteOpMsg>().size(), 1u);
  EXPECT_EQ(a->All<RemoteOpMsg>()[0].seq, 2u);
}

TEST_F(RoomStateTest, ARefusedChangeLeavesEverythingAsItWas) {
  auto a = Join(Mode::kCrdt, 30);
  auto b = Join(Mode::kCrdt, 31);
  Persist();
  crdt::TextDoc other(crdt::AgentId{99});
  SendChange(a, other.Insert(0, "no"), 1);  // Agent 99 is not a's.
  EXPECT_EQ(a->Errors(), std::vector<ErrorCode>{ErrorCode::kWrongAgent});
  EXPECT_TRUE(host_.appends.empty());
  EXPECT_EQ(room_.head(), 0u);
  EXPECT_EQ(room_.doc().Text(), "");
  EXPECT_TRUE(b->Errors().empty());
}

TEST_F(RoomStateTest, MissingDependenciesAskForWhatIsMissing) {
  auto a = Join(Mode::kCrdt, 40);
  Persist();
  crdt::TextDoc local(crdt::AgentId{40});
  local.Insert(0, "ab");
  const crdt::Change second = local.Insert(2, "c");
  SendChange(a, second, 2);
  ASSERT_EQ(a->All<NeedMsg>().size(), 1u);
  EXPECT_EQ(a->All<NeedMsg>()[0].ref, 2u);
  EXPECT_EQ(room_.head(), 0u);
}

TEST_F(RoomStateTest, ADuplicateIsAckedAndNotStoredAgain) {
  auto a = Join(Mode::kCrdt, 50);
  Persist();
  crdt::TextDoc local(crdt::AgentId{50});
  const crdt::Change c = local.Insert(0, "dup");
  SendChange(a, c, 1);
  Persist();
  SendChange(a, c, 2);
  Persist();
  ASSERT_EQ(a->All<AckMsg>().size(), 2u);
  EXPECT_EQ(a->All<AckMsg>()[1].ref, 2u);
  EXPECT_EQ(room_.head(), 1u);
  EXPECT_EQ(room_.doc().Text(), "dup");
}

TEST_F(RoomStateTest, AJoinerGetsItsCatchUpOnceDurableAndNoRelayTwice) {
  auto a = Join(Mode::kCrdt, 60);
  Persist();
  crdt::TextDoc local(crdt::AgentId{60});
  SendChange(a, local.Insert(0, "one"), 1);  // seq 1, not yet durable.
  auto late = Join(Mode::kOt, 61);           // Joins at head 1.
  EXPECT_TRUE(late->received.empty());
  Persist();
  ASSERT_EQ(late->All<TextMsg>().size(), 1u);
  EXPECT_EQ(late->All<TextMsg>()[0].text, "one");
  EXPECT_TRUE(late->All<RemoteOpMsg>().empty());  // seq 1 is in the text.
  SendChange(a, local.Insert(3, "!"), 2);
  Persist();
  ASSERT_EQ(late->All<RemoteOpMsg>().size(), 1u);
  EXPECT_EQ(late->All<RemoteOpMsg>()[0].seq, 2u);
}

TEST_F(RoomStateTest, AnOtOpAlreadyAppliedIsRecognizedByItsAgentSeq) {
  auto a = Join(Mode::kOt, 70);
  Persist();
  ot::TextOp op;
  op.Insert("once");
  SendOp(a, op, 0, 1, 0);
  Persist();
  ASSERT_EQ(a->All<AckMsg>().size(), 1u);
  EXPECT_EQ(a->All<AckMsg>()[0].agent_next, 4u);
  // The same op again (a resend after a reconnect), with the same agent seq.
  room_.Leave(a.get());
  auto again = Join(Mode::kOt, 70, /*have_seq=*/0);
  Persist();
  SendOp(again, op, 0, 1, 0);
  Persist();
  EXPECT_EQ(room_.doc().Text(), "once");
  ASSERT_EQ(again->All<AckMsg>().size(), 1u);
  EXPECT_EQ(again->All<AckMsg>()[0].seq, 1u);
  // An agent seq from the future is refused.
  SendOp(again, op, 1, 2, 9);
  EXPECT_EQ(again->Errors(), std::vector<ErrorCode>{ErrorCode::kBadSeq});
}

TEST_F(RoomStateTest, AFailedWriteFailsEveryMemberAndBreaksTheRoom) {
  auto a = Join(Mode::kCrdt, 80);
  auto b = Join(Mode::kOt, 81);
  Persist();
  crdt::TextDoc local(crdt::AgentId{80});
  SendChange(a, local.Insert(0, "x"), 1);
  const uint64_t seq = host_.appends.front().first;
  host_.appends.clear();
  room_.OnAppended(seq, Status(StatusCode::kIoError, "disk on fire"));
  EXPECT_TRUE(a->failed);
  EXPECT_TRUE(b->failed);
  EXPECT_TRUE(room_.broken());
  EXPECT_TRUE(a->All<AckMsg>().empty());
  EXPECT_TRUE(b->All<RemoteOpMsg>().empty());
}

TEST_F(SmallWindowTest, AnOpBehindTheWindowWaitsForTheLog) {
  auto a = JoinOt(90, 1);
  auto b = JoinOt(91, 2);
  const std::vector<Patch> log = TypeA(a.get(), 4);
  // b is at seq 0; the window holds seqs 3 and 4 only.
  room.Op(b.get(), OpAt(0, "b"));
  ASSERT_EQ(host_.history.size(), 1u);
  EXPECT_EQ(host_.history[0], (std::pair<uint64_t, uint64_t>(0, 4)));
  room.OnHistory(0, 4, log);
  Persist(room);
  EXPECT_EQ(room.doc().Text(), "baaaa");
  ASSERT_EQ(b->All<AckMsg>().size(), 1u);
  EXPECT_EQ(b->All<AckMsg>()[0].seq, 5u);
}

// A room writes on a cadence: what it accepted may not be in the log yet,
// so history is rebuilt from the log only up to what is durable, and the
// rest comes from the window.
TEST_F(SmallWindowTest, HistoryIsAskedOfTheLogOnlyUpToWhatIsDurable) {
  auto a = JoinOt(90, 1);
  auto b = JoinOt(91, 2);
  // Seqs 1 to 3 become durable; 4 is still being written (an OT author
  // waits for its ack, so only its last op can be in flight).
  const std::vector<Patch> log = TypeA(a.get(), 4, /*durable=*/3);
  ASSERT_EQ(room.durable(), 3u);
  room.Op(b.get(), OpAt(0, "b"));  // At seq 0, behind the window (seqs 3 and 4).
  ASSERT_EQ(host_.history.size(), 1u);
  EXPECT_EQ(host_.history[0], (std::pair<uint64_t, uint64_t>(0, 3)));
  room.OnHistory(0, 3, std::vector<Patch>(log.begin(), log.begin() + 3));
  Persist(room);
  EXPECT_TRUE(b->Errors().empty());
  EXPECT_EQ(room.doc().Text(), "baaaa");
  ASSERT_EQ(b->All<AckMsg>().size(), 1u);
  EXPECT_EQ(b->All<AckMsg>()[0].seq, 5u);
}

// An op from an older seq than the log is being read from waits for
// another read instead of being refused.
TEST_F(SmallWindowTest, AnOlderOpArrivingDuringAHistoryReadWaitsForTheNext) {
  auto a = JoinOt(90, 1);
  auto b = JoinOt(91, 2);
  auto c = JoinOt(92, 3);
  const std::vector<Patch> log = TypeA(a.get(), 5);
  room.Op(c.get(), OpAt(2, "c"));  // Behind the window (seqs 4, 5): a read from 2.
  room.Op(b.get(), OpAt(0, "b"));  // Older still, while that read is under way.
  ASSERT_EQ(host_.history.size(), 1u);
  EXPECT_EQ(host_.history[0], (std::pair<uint64_t, uint64_t>(2, 5)));
  room.OnHistory(2, 5, std::vector<Patch>(log.begin() + 2, log.end()));
  Persist(room);
  EXPECT_TRUE(b->Errors().empty());
  ASSERT_EQ(host_.history.size(), 2u);
  EXPECT_EQ(host_.history[1], (std::pair<uint64_t, uint64_t>(0, 5)));
  room.OnHistory(0, 5, log);  // Seq 6 (c's op) comes from the window.
  Persist(room);
  EXPECT_TRUE(b->Errors().empty());
  EXPECT_TRUE(c->Errors().empty());
  ASSERT_EQ(b->All<AckMsg>().size(), 1u);
  EXPECT_EQ(b->All<AckMsg>()[0].seq, 7u);
  const std::string text = room.doc().Text();
  EXPECT_EQ(text.size(), 7u);
  EXPECT_NE(text.find('b'), std::string::npos);
  EXPECT_NE(text.find('c'), std::string::npos);
}

}  // namespace
}  // namespace quire::server
