// Every hex example in docs/protocol.md decodes, with the server's and the
// client's own decoders, to the message its caption shows, and the
// encoders write exactly those bytes: the spec and the code cannot drift
// apart.
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "server/protocol.h"

namespace quire::server {
namespace {

struct Example {
  std::string bytes;    // Decoded from the hex block.
  std::string caption;  // The line after the block, e.g. `[1, 1, {}]`.
};

std::vector<Example> ReadExamples() {
  std::ifstream in(QUIRE_PROTOCOL_MD);
  EXPECT_TRUE(in) << "cannot open " << QUIRE_PROTOCOL_MD;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<Example> out;
  const std::regex hex_line("^([0-9a-f]{2})( [0-9a-f]{2})*$");
  for (size_t i = 0; i + 2 < lines.size(); ++i) {
    if (lines[i] != "```" || !std::regex_match(lines[i + 1], hex_line)) continue;
    Example e;
    std::istringstream hex(lines[i + 1]);
    for (std::string byte; hex >> byte;) e.bytes.push_back(static_cast<char>(std::stoi(byte, nullptr, 16)));
    if (lines[i + 2] == "```" && i + 3 < lines.size()) e.caption = lines[i + 3];
    out.push_back(std::move(e));
  }
  return out;
}

const Example& Find(const std::vector<Example>& all, std::string_view caption) {
  for (const Example& e : all) {
    if (e.caption == caption) return e;
  }
  ADD_FAILURE() << "docs/protocol.md has no example captioned " << caption;
  static const Example none;
  return none;
}

TEST(ProtocolDocTest, EveryExampleDecodes) {
  const std::vector<Example> all = ReadExamples();
  ASSERT_GE(all.size(), 7u);
  for (const Example& e : all) {
    SCOPED_TRACE(e.caption);
    ClientMessage client;
    const bool client_ok = !DecodeClientMessage(e.bytes, &client).has_value();
    const bool server_ok = DecodeServerFrame(e.bytes).ok();
    EXPECT_TRUE(client_ok || server_ok) << "neither decoder accepts it";
  }
}

TEST(ProtocolDocTest, ClientExamplesMatchTheEncoder) {
  const std::vector<Example> all = ReadExamples();
  HelloMsg hello;
  EXPECT_EQ(EncodeClientMessage(hello), Find(all, "`[1, 1, {}]`").bytes);

  OpenMsg open;
  open.channel = 3;
  open.doc = "notes";
  open.mode = Mode::kOt;
  EXPECT_EQ(EncodeClientMessage(open), Find(all, "`[16, 3, \"notes\", 1, 0, 0]`").bytes);

  OpMsg op;
  op.channel = 3;
  op.ref = 1;
  op.op.Insert("hi");
  EXPECT_EQ(EncodeClientMessage(op), Find(all, "`[23, 3, 1, 0, [\"hi\"], 0]`").bytes);

  ChangeMsg change;
  crdt::TextDoc doc(crdt::AgentId{1});
  change.change = doc.Insert(0, "hi");
  const Example& e = Find(all, "`[22, 0, 0, [1, 0, [], [[0, nil, nil, \"hi\"]]]]`");
  EXPECT_EQ(EncodeClientMessage(change), e.bytes);
  ClientMessage decoded;
  ASSERT_FALSE(DecodeClientMessage(e.bytes, &decoded).has_value());
  const auto& got = std::get<ChangeMsg>(decoded);
  EXPECT_EQ(got.change, change.change);
  EXPECT_EQ(got.change_bytes, crdt::EncodeChange(change.change));
}

TEST(ProtocolDocTest, PresenceExamplesMatchTheEncoders) {
  const std::vector<Example> all = ReadExamples();
  PresenceSetMsg set;
  set.channel = 3;
  set.seq = 2;
  set.state.keys = presence::kCursor;
  set.state.cursor = WireAnchor(uint64_t{4});
  EXPECT_EQ(EncodeClientMessage(set), Find(all, "`[48, 3, 2, {\"cursor\": 4}]`").bytes);

  presence::Entry moved;
  moved.session = 17;
  moved.clock = 5;
  moved.keys = presence::kCursor;
  moved.state.cursor = presence::Anchor{crdt::Id{crdt::AgentId{9}, 0}, false};
  presence::Entry left;
  left.session = 18;
  left.clock = 2;
  left.left = true;
  const std::function<uint64_t(const presence::Anchor&)> position = [](const presence::Anchor&) {
    return uint64_t{4};
  };
  const std::string bytes =
      RelayFrame(MsgType::kPresence, 3, PresenceBody(2, {moved, left}, &position)).Bytes();
  const Example& e = Find(all, "`[49, 3, 2, [[17, 5, {\"cursor\": 4}], [18, 2, nil]]]`");
  EXPECT_EQ(bytes, e.bytes);
  Result<std::vector<ServerMessage>> msgs = DecodeServerFrame(e.bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.status().ToString();
  const auto& p = std::get<PresenceMsg>((*msgs)[0]);
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(std::get<uint64_t>(*p.entries[0].state.cursor), 4u);
  EXPECT_TRUE(p.entries[1].left);
}

TEST(ProtocolDocTest, ServerExamplesMatchTheEncoder) {
  const std::vector<Example> all = ReadExamples();
  EXPECT_EQ(AckFrame(3, 1, 1, 2).Bytes(), Find(all, "`[24, 3, 1, 1, 2]`").bytes);
  EXPECT_EQ(ErrorFrame(ProtocolError{ErrorCode::kUnknownChannel, "unknown channel", 9, std::nullopt},
                       std::nullopt)
                .Bytes(),
            Find(all, "`[3, 200, \"unknown channel\", 9, nil, nil]`").bytes);

  ot::TextOp del;
  del.Retain(2).Delete(1);
  ot::TextOp ins;
  ins.Insert("x");
  const std::string batch = BatchHead(2) +
                            RelayFrame(MsgType::kRemoteOp, 3,
                                       RemoteOpBody(5, del, crdt::Id{crdt::AgentId{7}, 0}))
                                .Bytes() +
                            RelayFrame(MsgType::kRemoteOp, 3,
                                       RemoteOpBody(6, ins, crdt::Id{crdt::AgentId{9}, 4}))
                                .Bytes();
  const Example& e = Find(all, "`[0, [26, 3, 5, [2, -1], [7, 0]], [26, 3, 6, [\"x\"], [9, 4]]]`");
  EXPECT_EQ(batch, e.bytes);
  Result<std::vector<ServerMessage>> msgs = DecodeServerFrame(e.bytes);
  ASSERT_TRUE(msgs.ok()) << msgs.status().ToString();
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ(std::get<RemoteOpMsg>((*msgs)[0]).seq, 5u);
  EXPECT_EQ(std::get<RemoteOpMsg>((*msgs)[0]).op, del);
  EXPECT_EQ(std::get<RemoteOpMsg>((*msgs)[1]).op, ins);
  EXPECT_EQ(std::get<RemoteOpMsg>((*msgs)[1]).origin, (crdt::Id{crdt::AgentId{9}, 4}));
}

}  // namespace
}  // namespace quire::server
