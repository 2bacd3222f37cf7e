// The load generator's own pieces: its lean frame reader must see what the
// protocol's decoder sees, and its op walk (how an OT typist follows remote
// ops without building them) must agree with ot::Transform, since the
// convergence check trusts both.
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
