// Hostile and broken input from a client, one case per test, against a real
// server: each is answered with the code docs/protocol.md gives, and the
// room, the document and every other client carry on as if nothing
// happened.
#include <deque>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "client/client.h"
#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "tests/server/raw_client.h"
#include "tests/server/server_process.h"

namespace quire::test {
namespace {

using namespace std::chrono_literals;
using server::ErrorCode;

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 3) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(dir_.path(), std::vector<std::string>{
                                                               "--max-frame", "65536"});
    ASSERT_TRUE(server_->Start());
    // A well-behaved client edits the same document throughout.
    client::ClientOptions o;
    o.port = server_->port();
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    good_ = std::make_unique<client::Client>(io_.io(), o);
    good_->Start();
    channel_ = good_->Open("doc", server::Mode::kCrdt);
    ASSERT_TRUE(good_->WaitFor(channel_, [](auto& s) { return s.synced; }, 20s));
    ASSERT_TRUE(good_->Insert(channel_, 0, "before").ok());
    ASSERT_TRUE(good_->WaitFor(channel_, [](auto& s) { return s.synced; }, 20s));
  }
  void TearDown() override {
    // The good client is still connected and can still edit.
    ASSERT_TRUE(good_->Insert(channel_, 6, " after").ok());
    ASSERT_TRUE(good_->WaitFor(channel_, [](auto& s) { return s.synced; }, 20s));
    EXPECT_EQ(good_->Text(channel_), "before after");
    EXPECT_EQ(good_->state(), client::ConnectionState::kConnected);
    good_->Stop();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  IoThread io_;
  std::unique_ptr<client::Client> good_;
  uint16_t channel_ = 0;
};

TEST_F(BadInputTest, MalformedMsgpack) {
  RawClient c(server_->port());
  c.Hello();
  c.SendRaw(Hex("c1 c1 c1"));
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kMalformed);
}

TEST_F(BadInputTest, UnknownMessageType) {
  RawClient c(server_->port());
  c.Hello();
  c.SendRaw(Hex("92 63 00"));
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kUnknownType);
}

TEST_F(BadInputTest, WrongFieldTypes) {
  RawClient c(server_->port());
  c.Hello();
  c.SendRaw(Hex("96 10 a1 78 a1 64 00 00 90"));  // open with a string channel.
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kBadField);
}

TEST_F(BadInputTest, DeepNesting) {
  RawClient c(server_->port());
  c.Hello();
  // open [16, 1, "d", 1, 0, 0, <60,000 nested arrays>]: the trailing field
  // of a later revision is skipped only up to 16 levels.
  std::string bytes = Hex("97 10 01 a1 64 01 00 00");
  bytes.append(60000, '\x91');
  bytes.push_back('\x00');
  c.SendRaw(bytes);
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kMalformed);
}

TEST_F(BadInputTest, TextFrame) {
  RawClient c(server_->port());
  c.Hello();
  c.SendRaw("hello", /*binary=*/false);
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kTextFrame);
}

TEST_F(BadInputTest, MessageBeforeHelloCloses) {
  RawClient c(server_->port());
  c.SendRaw(server::EncodeClientMessage(server::PingMsg{1}));
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kHelloFirst);
  EXPECT_FALSE(c.Next().has_value());
  EXPECT_EQ(c.close_code(), 4001);
}

TEST_F(BadInputTest, MessageForAChannelNeverOpened) {
  RawClient c(server_->port());
  c.Hello();
  server::OpMsg op;
  op.channel = 9;
  op.op.Insert("x");
  c.Send(op);
  auto e = c.Expect<server::ErrorMsg>();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::kUnknownChannel);
  EXPECT_EQ(e->channel, std::optional<uint16_t>(9));
}

TEST_F(BadInputTest, AnOpThatDoesNotFit) {
  RawClient c(server_->port());
  c.Hello();
  c.OpenDoc(1, "doc", server::Mode::kOt);
  server::OpMsg op;
  op.channel = 1;
  op.ref = 4;
  op.base_seq = 1;
  op.op.Retain(1000).Insert("x");
  c.Send(op);
  auto e = c.Expect<server::ErrorMsg>();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::kDoesNotFit);
  EXPECT_EQ(e->ref, std::optional<uint64_t>(4));
}

TEST_F(BadInputTest, AChangeThatDoesNotFit) {
  RawClient c(server_->port());
  const server::WelcomeMsg w = c.Hello();
  c.OpenDoc(1, "doc", server::Mode::kCrdt);
  crdt::Change change;
  change.id = crdt::Id{crdt::AgentId{w.agent}, 0};
  crdt::Op del;
  del.kind = crdt::Op::Kind::kDelete;
  del.target = crdt::Id{crdt::AgentId{w.agent}, 500};  // Nothing of ours exists.
  del.len = 1;
  change.ops.push_back(del);
  c.Send(server::ChangeMsg{1, 7, change, {}});
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kDoesNotFit);
}

TEST_F(BadInputTest, AChangeForAnotherAgent) {
  RawClient c(server_->port());
  c.Hello();
  c.OpenDoc(1, "doc", server::Mode::kCrdt);
  crdt::TextDoc other(crdt::AgentId{12345});
  c.Send(server::ChangeMsg{1, 1, other.Insert(0, "forged"), {}});
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kWrongAgent);
}

TEST_F(BadInputTest, AChangeWhoseOriginsAreNotAdjacent) {
  RawClient c(server_->port());
  const server::WelcomeMsg w = c.Hello();
  c.OpenDoc(1, "doc", server::Mode::kCrdt);
  // The document holds "before" by the good client's agent. Insert between
  // its first and last character while claiming they were neighbours.
  crdt::Change change;
  change.id = crdt::Id{crdt::AgentId{w.agent}, 0};
  change.parents = {crdt::Id{crdt::AgentId{good_->agent()}, 5}};
  crdt::Op ins;
  ins.kind = crdt::Op::Kind::kInsert;
  ins.origin_left = crdt::Id{crdt::AgentId{good_->agent()}, 0};
  ins.origin_right = crdt::Id{crdt::AgentId{good_->agent()}, 5};
  ins.text = "X";
  change.ops.push_back(ins);
  c.Send(server::ChangeMsg{1, 1, change, {}});
  EXPECT_EQ(c.NextErrorCode(), ErrorCode::kNotCausal);
}

TEST_F(BadInputTest, AFrameOverTheLimitCloses) {
  RawClient c(server_->port());
  c.Hello();
  c.SendRaw(std::string(70000, 'x'));
  EXPECT_FALSE(c.Next().has_value());
  EXPECT_EQ(c.close_code(), 1009);
}

TEST_F(BadInputTest, RepeatedViolationsClose) {
  RawClient c(server_->port());
  c.Hello();
  for (int i = 0; i < 25; ++i) c.SendRaw(Hex("c1"));
  while (c.Next().has_value()) {
  }
  EXPECT_EQ(c.close_code(), 4002);
}

}  // namespace
}  // namespace quire::test
