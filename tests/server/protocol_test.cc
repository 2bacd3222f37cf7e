#include "server/protocol.h"

#include <gtest/gtest.h>

#include "crdt/change_codec.h"
#include "crdt/text_doc.h"

namespace quire::server {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 3) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

ProtocolError Refused(std::string_view bytes) {
  ClientMessage m;
  std::optional<ProtocolError> e = DecodeClientMessage(bytes, &m);
  EXPECT_TRUE(e.has_value()) << "accepted";
  return e.value_or(ProtocolError{});
}

ClientMessage RoundTrip(const ClientMessage& in) {
  ClientMessage out;
  std::optional<ProtocolError> e = DecodeClientMessage(EncodeClientMessage(in), &out);
  EXPECT_FALSE(e.has_value()) << e->message;
  return out;
}

TEST(ProtocolTest, ClientMessagesRoundTrip) {
  HelloMsg hello;
  hello.token = "t";
  hello.name = "Ada";
  hello.client = "test";
  hello.agent = AgentTicket{42, std::string("\x01\x02", 2)};
  EXPECT_EQ(std::get<HelloMsg>(RoundTrip(hello)), hello);

  OpenMsg crdt_open;
  crdt_open.channel = 65535;
  crdt_open.doc = "notes/é";
  crdt_open.epoch = 9;
  crdt_open.version.Set(crdt::AgentId{5}, 7);
  crdt_open.version.Set(crdt::AgentId{uint64_t{1} << 62}, 1);
  EXPECT_EQ(std::get<OpenMsg>(RoundTrip(crdt_open)), crdt_open);

  OpenMsg ot_open;
  ot_open.mode = Mode::kOt;
  ot_open.doc = "d";
  ot_open.seq = 1234567;
  EXPECT_EQ(std::get<OpenMsg>(RoundTrip(ot_open)), ot_open);

  EXPECT_EQ(std::get<CloseMsg>(RoundTrip(CloseMsg{7})).channel, 7);

  OpMsg op;
  op.channel = 2;
  op.ref = 99;
  op.base_seq = 5;
  op.op.Retain(3).Insert("😀").Delete(2);
  EXPECT_EQ(std::get<OpMsg>(RoundTrip(op)), op);

  EXPECT_EQ(std::get<PingMsg>(RoundTrip(PingMsg{77})).nonce, 77u);
  EXPECT_EQ(std::get<PongMsg>(RoundTrip(PongMsg{78})).nonce, 78u);
  EXPECT_EQ(std::get<RefreshMsg>(RoundTrip(RefreshMsg{"tok"})).token, "tok");
}

TEST(ProtocolTest, ChangeKeepsItsOwnBytes) {
  crdt::TextDoc doc(crdt::AgentId{3});
  doc.Insert(0, "hello");
  ChangeMsg m;
  m.channel = 1;
  m.ref = 2;
  m.change = doc.Remove(1, 3);
  const ClientMessage decoded = RoundTrip(m);
  const auto& got = std::get<ChangeMsg>(decoded);
  EXPECT_EQ(got.change, m.change);
  EXPECT_EQ(got.change_bytes, crdt::EncodeChange(m.change));
}

TEST(ProtocolTest, MalformedInputIsRefusedWithItsCode) {
  EXPECT_EQ(Refused("").code, ErrorCode::kMalformed);
  EXPECT_EQ(Refused(Hex("c1")).code, ErrorCode::kMalformed);        // Never a msgpack byte.
  EXPECT_EQ(Refused(Hex("90")).code, ErrorCode::kMalformed);        // [].
  EXPECT_EQ(Refused(Hex("91 a1 78")).code, ErrorCode::kMalformed);  // ["x"].
  EXPECT_EQ(Refused(Hex("93 01 01")).code, ErrorCode::kMalformed);  // hello, truncated.
  EXPECT_EQ(Refused(Hex("92 63 00")).code, ErrorCode::kUnknownType);
  EXPECT_EQ(Refused(Hex("93 01 01 80 00")).code, ErrorCode::kMalformed);  // Trailing bytes.
  // open with channel 65536.
  EXPECT_EQ(Refused(Hex("96 10 ce 00 01 00 00 a1 64 00 00 90")).code, ErrorCode::kBadField);
  // open with mode 2.
  EXPECT_EQ(Refused(Hex("96 10 00 a1 64 02 00 90")).code, ErrorCode::kBadField);
  // open whose doc name is not UTF-8.
  EXPECT_EQ(Refused(Hex("96 10 00 a1 ff 00 00 90")).code, ErrorCode::kBadField);
  // A version naming an agent twice.
  EXPECT_EQ(Refused(Hex("96 10 00 a1 64 00 00 92 92 01 01 92 01 02")).code, ErrorCode::kBadField);
}

TEST(ProtocolTest, ErrorsNameTheChannelAndRef) {
  // [22, 4, 9, "not a change"]
  ProtocolError e = Refused(Hex("94 16 04 09 a3 61 62 63"));
  EXPECT_EQ(e.code, ErrorCode::kBadField);
  EXPECT_EQ(e.channel, std::optional<uint16_t>(4));
  EXPECT_EQ(e.ref, std::optional<uint64_t>(9));
}

TEST(ProtocolTest, DeepNestingIsRefusedWithoutRecursion) {
  // hello whose options hold an unknown key with 100,000 nested arrays.
  std::string bytes = Hex("93 01 01 81 a1 78");
  bytes.append(100000, '\x91');
  bytes.push_back('\x00');
  EXPECT_EQ(Refused(bytes).code, ErrorCode::kMalformed);
}

TEST(ProtocolTest, HugeDeclaredCountsCostNothing) {
  // open whose version claims 4 billion entries in a 20-byte frame.
  EXPECT_EQ(Refused(Hex("96 10 00 a1 64 00 00 dd ff ff ff ff")).code, ErrorCode::kMalformed);
}

TEST(ProtocolTest, TrailingFieldsOfALaterRevisionAreSkipped) {
  // [18, 3, "future"]: close with an extra field.
  ClientMessage m;
  ASSERT_FALSE(DecodeClientMessage(Hex("93 12 03 a6 66 75 74 75 72 65"), &m).has_value());
  EXPECT_EQ(std::get<CloseMsg>(m).channel, 3);
}

TEST(ProtocolTest, ServerFramesDecode) {
  WelcomeMsg w;
  w.session = 5;
  w.user = "u";
  w.name = "n";
  w.agent = 77;
  w.ticket = "tt";
  w.ping_ms = 15000;
  w.max_frame = 1 << 20;
  w.server = "quire";
  Result<std::vector<ServerMessage>> got = DecodeServerFrame(WelcomeFrame(w).Bytes());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto& welcome = std::get<WelcomeMsg>((*got)[0]);
  EXPECT_EQ(welcome.agent, 77u);
  EXPECT_EQ(welcome.ticket, "tt");
  EXPECT_EQ(welcome.max_frame, 1u << 20);

  crdt::Version v;
  v.Set(crdt::AgentId{8}, 3);
  got = DecodeServerFrame(SyncedFrame(1, 10, &v, 4).Bytes());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::get<SyncedMsg>((*got)[0]).version, v);
  EXPECT_EQ(std::get<SyncedMsg>((*got)[0]).agent_next, 4u);

  got = DecodeServerFrame(
      ErrorFrame(ProtocolError{ErrorCode::kStaleEpoch, "x", 2, std::nullopt}, 12).Bytes());
  ASSERT_TRUE(got.ok());
  const auto& err = std::get<ErrorMsg>((*got)[0]);
  EXPECT_EQ(err.code, ErrorCode::kStaleEpoch);
  EXPECT_EQ(err.epoch, std::optional<uint64_t>(12));

  crdt::TextDoc doc(crdt::AgentId{1});
  const crdt::Change c = doc.Insert(0, "ab");
  got = DecodeServerFrame(
      RelayFrame(MsgType::kRemoteChange, 4, RemoteChangeBody(3, crdt::EncodeChange(c))).Bytes());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::get<RemoteChangeMsg>((*got)[0]).change, c);
  EXPECT_EQ(std::get<RemoteChangeMsg>((*got)[0]).seq, 3u);
}

}  // namespace
}  // namespace quire::server
