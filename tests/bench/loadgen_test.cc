// The load generator's own pieces: its lean frame reader must see what the
// protocol's decoder sees, and its op walk (how an OT typist follows remote
// ops without building them) must agree with ot::Transform, since the
// convergence check trusts both.
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/parse.h"
#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "ot/codec.h"

namespace quire::loadgen {
namespace {

ot::TextOp RandomOp(std::mt19937_64& rng, size_t length) {
  ot::TextOp op;
  size_t at = 0;
  while (at < length && rng() % 3 != 0) {
    const size_t n = 1 + rng() % 4;
    switch (rng() % 3) {
      case 0:
        op.Retain(std::min(n, length - at));
        at += std::min(n, length - at);
        break;
      case 1:
        op.Insert(std::string(n, static_cast<char>('a' + rng() % 26)));
        break;
      case 2:
        op.Delete(std::min(n, length - at));
        at += std::min(n, length - at);
        break;
    }
  }
  if (rng() % 2 == 0) op.Insert("z");
  return op;
}

TEST(LoadgenWalkOpTest, AnInsertMovesAsOtTransformMovesIt) {
  const uint64_t seed = 20261129;
  SCOPED_TRACE(seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 20000; ++i) {
    const size_t length = rng() % 12;
    const ot::TextOp remote = RandomOp(rng, length);
    const size_t at = rng() % (length + 1);
    ot::TextOp own;
    own.Retain(at).Insert("q");
    const ot::TextOp moved = ot::Transform(own, remote, ot::Side::kLeft);
    const size_t want = moved.components().front().kind == ot::Component::Kind::kRetain
                            ? moved.components().front().count
                            : 0;
    OpEffect e;
    e.insert_at = at;
    e.caret = at;
    ASSERT_TRUE(WalkOp(ot::EncodeOp(remote), &e)) << remote;
    EXPECT_EQ(e.insert_at, want) << remote << " at " << at;
    EXPECT_EQ(e.length_delta, static_cast<int64_t>(remote.InsertedLength()) -
                                  static_cast<int64_t>(remote.DeletedLength()));
  }
}

class Collect : public FrameVisitor {
 public:
  void OnRelay(const Relay& r) override { relays.push_back(r); }
  void OnAck(const server::AckMsg& a) override { acks.push_back(a); }
  void OnMessage(server::ServerMessage& m) override { others.push_back(m); }
  void OnBadFrame(const std::string& why) override { bad.push_back(why); }
  std::vector<Relay> relays;
  std::vector<server::AckMsg> acks;
  std::vector<server::ServerMessage> others;
  std::vector<std::string> bad;
};

TEST(LoadgenParseTest, ReadsABatchAsTheProtocolDecoderDoes) {
  crdt::TextDoc doc(crdt::AgentId{77});
  const crdt::Change change = doc.Insert(0, "hello");
  const std::string change_bytes = crdt::EncodeChange(change);
  ot::TextOp op;
  op.Retain(3).Insert("é").Delete(2);
  auto change_body = server::RemoteChangeBody(9, change_bytes);
  auto op_body = server::RemoteOpBody(10, op, crdt::Id{crdt::AgentId{1} , 40000});
  std::string frame = server::BatchHead(4);
  frame += server::RelayFrame(server::MsgType::kRemoteChange, 3, change_body).Bytes();
  frame += server::AckFrame(3, 5, 11, 6).Bytes();
  frame += server::RelayFrame(server::MsgType::kRemoteOp, 300, op_body).Bytes();
  frame += server::OpenedFrame(3, 7, 11).Bytes();

  Collect c;
  ParseServerFrame(frame, c);
  EXPECT_TRUE(c.bad.empty()) << c.bad.front();
  ASSERT_EQ(c.relays.size(), 2u);
  EXPECT_FALSE(c.relays[0].is_op);
  EXPECT_EQ(c.relays[0].channel, 3);
  EXPECT_EQ(c.relays[0].seq, 9u);
  EXPECT_EQ(c.relays[0].agent, 77u);
  EXPECT_EQ(c.relays[0].agent_seq, 0u);
  EXPECT_EQ(c.relays[0].body, *change_body);
  EXPECT_EQ(c.relays[0].payload, change_bytes);
  EXPECT_TRUE(c.relays[1].is_op);
  EXPECT_EQ(c.relays[1].channel, 300);
  EXPECT_EQ(c.relays[1].agent, 1u);
  EXPECT_EQ(c.relays[1].agent_seq, 40000u);
  EXPECT_EQ(c.relays[1].body, *op_body);
  EXPECT_EQ(c.relays[1].payload, ot::EncodeOp(op));
  ASSERT_EQ(c.acks.size(), 1u);
  EXPECT_EQ(c.acks[0].ref, 5u);
  EXPECT_EQ(c.acks[0].seq, 11u);
  EXPECT_EQ(c.acks[0].agent_next, 6u);
  ASSERT_EQ(c.others.size(), 1u);
  EXPECT_EQ(std::get<server::OpenedMsg>(c.others[0]).epoch, 7u);

  // Every truncation is refused, never read past.
  for (size_t n = 0; n < frame.size(); ++n) {
    Collect t;
    ParseServerFrame(std::string_view(frame).substr(0, n), t);
    EXPECT_FALSE(t.bad.empty()) << n;
  }
}

// S5 reads presence lean: who moved, to which position (what an OT member
// is sent), who left, and how many bytes each presence message took.
class CollectPresence : public Collect {
 public:
  bool WantsPresenceEntries() const override { return true; }
  void OnPresenceEntry(uint16_t channel, const PresenceEntry& e) override {
    channels.push_back(channel);
    entries.push_back(e);
  }
  void OnPresenceMessage(size_t bytes) override { sizes.push_back(bytes); }
  std::vector<uint16_t> channels;
  std::vector<PresenceEntry> entries;
  std::vector<size_t> sizes;
};

TEST(LoadgenParseTest, ReadsPresenceEntriesAndTheirSize) {
  presence::Entry moved;
  moved.session = 12;
  moved.clock = 3;
  moved.keys = presence::kUser | presence::kCursor;
  moved.state.user_id = "u12";
  moved.state.name = "Ada";
  moved.state.color = "#123456";
  moved.state.cursor = presence::Anchor{crdt::Id{crdt::AgentId{5}, 41}, false};
  presence::Entry left;
  left.session = 13;
  left.clock = 9;
  left.left = true;
  const std::function<uint64_t(const presence::Anchor&)> position =
      [](const presence::Anchor& a) { return a.id.seq + 1; };
  const auto body = server::PresenceBody(20, {moved, left}, &position);
  const server::Frame presence_frame = server::RelayFrame(server::MsgType::kPresence, 4, body);
  std::string frame = server::BatchHead(2);
  frame += server::AckFrame(3, 5, 11, 6).Bytes();
  frame += presence_frame.Bytes();

  CollectPresence c;
  ParseServerFrame(frame, c);
  EXPECT_TRUE(c.bad.empty()) << c.bad.front();
  ASSERT_EQ(c.acks.size(), 1u);
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.channels, (std::vector<uint16_t>{4, 4}));
  EXPECT_EQ(c.entries[0].session, 12u);
  EXPECT_EQ(c.entries[0].clock, 3u);
  EXPECT_FALSE(c.entries[0].left);
  EXPECT_EQ(c.entries[0].cursor, std::optional<uint64_t>(42));
  EXPECT_EQ(c.entries[1].session, 13u);
  EXPECT_TRUE(c.entries[1].left);
  EXPECT_EQ(c.sizes, (std::vector<size_t>{presence_frame.size()}));

  // The protocol's decoder reads the same message.
  Collect whole;
  ParseServerFrame(presence_frame.Bytes(), whole);
  ASSERT_EQ(whole.others.size(), 1u);
  const auto& msg = std::get<server::PresenceMsg>(whole.others[0]);
  ASSERT_EQ(msg.entries.size(), 2u);
  EXPECT_EQ(msg.entries[0].session, 12u);

  for (size_t n = 0; n < frame.size(); ++n) {
    CollectPresence t;
    ParseServerFrame(std::string_view(frame).substr(0, n), t);
    EXPECT_FALSE(t.bad.empty()) << n;
  }
}

TEST(LoadgenHistogramTest, QuantilesAreNeverUnderstated) {
  Histogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Add(v);
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 100000u);
  for (double q : {0.5, 0.95, 0.99}) {
    const auto want = static_cast<uint64_t>(q * 100000);
    EXPECT_GE(h.Quantile(q), want);
    EXPECT_LE(h.Quantile(q), want + want / 60);  // 64 buckets per octave.
  }
  EXPECT_EQ(h.Quantile(1.0), 100000u);
}

}  // namespace
}  // namespace quire::loadgen
