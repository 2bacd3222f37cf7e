#include "crdt/change_codec.h"

#include <gtest/gtest.h>

#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

using namespace std::string_literals;

TEST(ChangeCodecTest, RoundTripsWhatDocumentsMake) {
  TextDoc a(AgentId{7});
  std::vector<Change> changes;
  changes.push_back(a.Insert(0, "hello w\xC3\xB6rld"));
  changes.push_back(a.Insert(5, ","));
  changes.push_back(a.Remove(0, 3));
  for (const Change& c : a.ChangesSince(Version())) changes.push_back(c);
  for (const Change& c : changes) {
    Result<Change> back = DecodeChange(EncodeChange(c));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, c);
  }
  TextDoc b(AgentId{8});
  for (const Change& c : a.ChangesSince(Version())) {
    ASSERT_TRUE(b.Apply(*DecodeChange(EncodeChange(c))).ok());
  }
  EXPECT_EQ(b.Text(), a.Text());
}

TEST(ChangeCodecTest, RejectsMalformedInput) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const Case cases[] = {
      {"", "change: expected [agent, seq, parents, ops]"},
      {"\x93\x01\x02\x90", "change: expected [agent, seq, parents, ops]"},
      {"\x94\xA1x\x00\x90\x90"s, "change: bad agent or seq"},
      {"\x94\x01\x00\x91\xC0\x90"s, "change: parent 0 is not an [agent, seq] id"},
      {"\x94\x01\x00\x90\x91\x94\x02\xC0\xC0\xA1x"s, "change: op 0 is not [0|1, ...]"},
      {"\x94\x01\x00\x90\x91\x94\x00\xC0\xC0\x05"s, "change: op 0 text is not a string"},
      {"\x94\x01\x00\x90\x91\x94\x01\x92\x01\x00\xFF\xC2"s,
       "change: op 0 length or direction is malformed"},
      {"\x94\x01\x00\x90\x90\x90"s, "change: trailing bytes"},
  };
  for (const Case& c : cases) {
    Result<Change> r = DecodeChange(c.bytes);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

}  // namespace
}  // namespace quire::crdt
