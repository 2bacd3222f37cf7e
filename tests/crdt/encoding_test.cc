// The byte examples of docs/crdt_format.md, checked.
#include <gtest/gtest.h>
#include <zstd.h>

#include "base/coding.h"
#include "crdt/change_codec.h"
#include "crdt/encoding.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

using namespace std::string_literals;

std::string Body(const std::string& encoded) {
  std::string_view in(encoded);
  in.remove_prefix(6);
  uint64_t raw_len;
  EXPECT_TRUE(GetVarint(&in, &raw_len));
  in.remove_suffix(4);
  std::string body(raw_len, '\0');
  EXPECT_EQ(ZSTD_decompress(body.data(), body.size(), in.data(), in.size()), raw_len);
  return body;
}

TEST(EncodingTest, DocumentExampleFromTheFormatDoc) {
  TextDoc doc(AgentId{5});
  doc.Insert(0, "hi");
  doc.Remove(0, 1);
  const std::string encoded = doc.Encode();
  EXPECT_EQ(encoded.substr(0, 6), "QDOC\x01\x01"s);
  EXPECT_EQ(Body(encoded), "\x01\x05" "\x01\x00\x03" "\x01\x03\x00" "\x02\x08\x05" "\x00"
                           "\x01\x00\x02" "\x02hi"s);
  Result<TextDoc> back = TextDoc::Decode(encoded, AgentId{6});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Text(), "i");
}

TEST(EncodingTest, ChangeExampleFromTheFormatDoc) {
  TextDoc doc(AgentId{1});
  EXPECT_EQ(EncodeChange(doc.Insert(0, "hi")),
            "\x94\x01\x00\x90\x91\x94\x00\xc0\xc0\xa2hi"s);
}

TEST(EncodingTest, ConcurrentHistoriesKeepTheirOrigins) {
  // Concurrent inserts at one place cannot all have implied origins; the
  // decoded document must still integrate later changes like the original.
  TextDoc a(AgentId{1}), b(AgentId{2}), c(AgentId{3});
  a.Insert(0, "[]");
  ASSERT_TRUE(b.Merge(a).ok());
  ASSERT_TRUE(c.Merge(a).ok());
  a.Insert(1, "aaa");
  b.Insert(1, "bbb");
  c.Insert(1, "ccc");
  ASSERT_TRUE(a.Merge(b).ok());
  ASSERT_TRUE(a.Merge(c).ok());
  Result<TextDoc> d = TextDoc::Decode(a.Encode(), AgentId{4});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Text(), a.Text());
  // A fourth concurrent insert at the same place lands the same way in both.
  TextDoc e(AgentId{0});
  ASSERT_TRUE(e.Merge(c).ok());
  const Change late = e.Insert(1, "eee");
  ASSERT_TRUE(a.Apply(late).ok());
  ASSERT_TRUE(d->Apply(late).ok());
  EXPECT_EQ(d->Text(), a.Text());
  EXPECT_EQ(d->ChangesSince(Version()).size(), a.ChangesSince(Version()).size());
}

}  // namespace
}  // namespace quire::crdt
