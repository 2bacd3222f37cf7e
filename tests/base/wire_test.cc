#include "base/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <msgpack.hpp>  // The oracle: msgpack-c's own unpacker.
#include <random>
#include <string>

#include "tests/testutil.h"

namespace quire::wire {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;
using test::Hex;

std::string Pack(const std::function<void(Packer&)>& write) {
  Buffer buf;
  Packer pk(buf);
  write(pk);
  return buf.Take();
}

// The first `n` bytes of the hex, for values with long bodies.
std::string Head(std::string_view bytes, size_t n) { return Hex(bytes.substr(0, n)); }

// Expected bytes are written by hand from the msgpack spec; they are what
// the hand-written writer before msgpack-c produced (it always picked the
// shortest form), so the wire format stays byte-identical.
TEST(WireTest, UnsignedIntegersTakeTheShortestForm) {
  const std::pair<uint64_t, std::string> cases[] = {
      {0, "00"},
      {127, "7f"},
      {128, "cc 80"},
      {255, "cc ff"},
      {256, "cd 01 00"},
      {65535, "cd ff ff"},
      {65536, "ce 00 01 00 00"},
      {(uint64_t{1} << 32) - 1, "ce ff ff ff ff"},
      {uint64_t{1} << 32, "cf 00 00 00 01 00 00 00 00"},
      {UINT64_MAX, "cf ff ff ff ff ff ff ff ff"},
  };
  for (const auto& [v, hex] : cases) {
    EXPECT_EQ(Hex(Pack([v = v](Packer& pk) { pk.pack_uint64(v); })), hex) << v;
  }
}

TEST(WireTest, SignedIntegersTakeTheShortestForm) {
  const std::pair<int64_t, std::string> cases[] = {
      {5, "05"},
      {127, "7f"},
      {128, "cc 80"},  // Non-negative values use the unsigned forms.
      {65536, "ce 00 01 00 00"},
      {-1, "ff"},
      {-32, "e0"},
      {-33, "d0 df"},
      {-128, "d0 80"},
      {-129, "d1 ff 7f"},
      {-32768, "d1 80 00"},
      {-32769, "d2 ff ff 7f ff"},
      {-(int64_t{1} << 31), "d2 80 00 00 00"},
      {-(int64_t{1} << 31) - 1, "d3 ff ff ff ff 7f ff ff ff"},
      {std::numeric_limits<int64_t>::min(), "d3 80 00 00 00 00 00 00 00"},
      {std::numeric_limits<int64_t>::max(), "cf 7f ff ff ff ff ff ff ff"},
  };
  for (const auto& [v, hex] : cases) {
    EXPECT_EQ(Hex(Pack([v = v](Packer& pk) { pk.pack_int64(v); })), hex) << v;
  }
}

TEST(WireTest, StringsBinsArraysAndMapsTakeTheShortestHeader) {
  auto str = [](size_t n) { return Pack([n](Packer& pk) { PackStr(pk, std::string(n, 'x')); }); };
  EXPECT_EQ(Hex(str(0)), "a0");
  EXPECT_EQ(Hex(str(3)), "a3 78 78 78");
  EXPECT_EQ(Head(str(31), 2), "bf 78");
  EXPECT_EQ(Head(str(32), 3), "d9 20 78");
  EXPECT_EQ(Head(str(255), 3), "d9 ff 78");
  EXPECT_EQ(Head(str(256), 4), "da 01 00 78");
  EXPECT_EQ(Head(str(65535), 4), "da ff ff 78");
  EXPECT_EQ(Head(str(65536), 6), "db 00 01 00 00 78");
  EXPECT_EQ(str(65536).size(), 65536u + 5);

  auto bin = [](size_t n) { return Pack([n](Packer& pk) { PackBin(pk, std::string(n, 'y')); }); };
  EXPECT_EQ(Hex(bin(0)), "c4 00");
  EXPECT_EQ(Head(bin(255), 3), "c4 ff 79");
  EXPECT_EQ(Head(bin(256), 4), "c5 01 00 79");
  EXPECT_EQ(Head(bin(65536), 6), "c6 00 01 00 00 79");

  auto array = [](uint32_t n) { return Hex(Pack([n](Packer& pk) { pk.pack_array(n); })); };
  EXPECT_EQ(array(0), "90");
  EXPECT_EQ(array(15), "9f");
  EXPECT_EQ(array(16), "dc 00 10");
  EXPECT_EQ(array(65535), "dc ff ff");
  EXPECT_EQ(array(65536), "dd 00 01 00 00");

  auto map = [](uint32_t n) { return Hex(Pack([n](Packer& pk) { pk.pack_map(n); })); };
  EXPECT_EQ(map(0), "80");
  EXPECT_EQ(map(15), "8f");
  EXPECT_EQ(map(16), "de 00 10");
  EXPECT_EQ(map(65536), "df 00 01 00 00");

  EXPECT_EQ(Hex(Pack([](Packer& pk) {
              pk.pack_nil();
              PackBool(pk, true);
              PackBool(pk, false);
            })),
            "c0 c3 c2");
}

TEST(WireTest, BufferIsReusedAfterClear) {
  Buffer buf;
  Packer pk(buf);
  PackStr(pk, std::string(100, 'a'));
  const size_t first = buf.size();
  buf.clear();
  EXPECT_EQ(buf.size(), 0u);
  pk.pack_uint64(1);
  EXPECT_EQ(Hex(buf.view()), "01");
  EXPECT_EQ(first, 102u);
}

TEST(WireTest, ReadsEveryFormBack) {
  const int64_t ints[] = {0,
                          1,
                          127,
                          128,
                          255,
                          256,
                          65535,
                          65536,
                          -1,
                          -32,
                          -33,
                          -128,
                          -129,
                          -32768,
                          -32769,
                          std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max()};
  for (int64_t v : ints) {
    const std::string bytes = Pack([v](Packer& pk) { pk.pack_int64(v); });
    Reader r(bytes);
    EXPECT_EQ(r.Peek(), Type::kInt);
    int64_t got;
    ASSERT_TRUE(r.Int(&got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.done());
  }
  const std::string bytes = Pack([](Packer& pk) {
    pk.pack_array(5);
    PackStr(pk, "hi");
    PackStr(pk, std::string(40, 'x'));
    PackBin(pk, "\x01\x02"s);
    pk.pack_map(1);
    pk.pack_uint64(UINT64_MAX);
    PackBool(pk, true);
    pk.pack_nil();
  });
  Reader r(bytes);
  uint32_t n;
  ASSERT_TRUE(r.ArrayHeader(&n));
  EXPECT_EQ(n, 5u);
  std::string_view s;
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, "hi");
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, std::string(40, 'x'));
  ASSERT_TRUE(r.Bin(&s));
  EXPECT_EQ(s, "\x01\x02"s);
  ASSERT_TRUE(r.MapHeader(&n));
  EXPECT_EQ(n, 1u);
  uint64_t u;
  ASSERT_TRUE(r.Uint(&u));
  EXPECT_EQ(u, UINT64_MAX);
  bool b = false;
  ASSERT_TRUE(r.Bool(&b));
  EXPECT_TRUE(b);
  EXPECT_FALSE(r.done());
  ASSERT_TRUE(r.Nil());
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.position(), bytes.size());
}

TEST(WireTest, HeadersOfEverySizeEndWhereTheirFirstElementStarts) {
  for (uint32_t n : {0u, 1u, 15u, 16u, 65535u, 65536u}) {
    for (bool map : {false, true}) {
      SCOPED_TRACE(std::to_string(n) + (map ? " pairs" : " elements"));
      const std::string bytes = Pack([n, map](Packer& pk) {
        map ? pk.pack_map(n) : pk.pack_array(n);
        for (uint32_t k = 0; k < (map ? 2 * n : n); ++k) pk.pack_uint64(k % 100);
      });
      Reader r(bytes);
      uint32_t got;
      ASSERT_TRUE(map ? r.MapHeader(&got) : r.ArrayHeader(&got));
      EXPECT_EQ(got, n);
      EXPECT_EQ(r.position(), n < 16 ? 1u : n < 65536 ? 3u : 5u);
      for (uint32_t k = 0; k < (map ? 2 * n : n); ++k) {
        uint64_t v;
        ASSERT_TRUE(r.Uint(&v));
        ASSERT_EQ(v, k % 100);
      }
      EXPECT_TRUE(r.done());
    }
  }
}

TEST(WireTest, IntegerRangesAreChecked) {
  // int8 5: a signed form holding a non-negative value is still a Uint.
  Reader signed_form("\xD0\x05"sv);
  uint64_t u;
  ASSERT_TRUE(signed_form.Uint(&u));
  EXPECT_EQ(u, 5u);
  Reader negative("\xFF"sv);
  EXPECT_FALSE(negative.Uint(&u));
  EXPECT_EQ(negative.error(), Error::kWrongType);
  Reader too_big("\xCF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"sv);
  int64_t i;
  EXPECT_FALSE(too_big.Int(&i));
  EXPECT_EQ(too_big.error(), Error::kWrongType);
}

TEST(WireTest, RefusesLiesTruncationAndBadBytes) {
  uint32_t n;
  std::string_view s;
  int64_t i;
  // array32 claiming 4 billion elements in a 5-byte input.
  Reader huge("\xDD\xFF\xFF\xFF\xFF"sv);
  EXPECT_FALSE(huge.ArrayHeader(&n));
  EXPECT_EQ(huge.error(), Error::kTruncated);
  // A map of 2 pairs needs at least 4 more bytes; 3 are left.
  Reader map("\x82\x01\x02\x03"sv);
  EXPECT_FALSE(map.MapHeader(&n));
  EXPECT_EQ(map.error(), Error::kTruncated);
  // str8 of length 10 with 2 bytes present.
  Reader cut(
      "\xD9\x0A"
      "ab"sv);
  EXPECT_EQ(cut.Peek(), Type::kInvalid);
  EXPECT_FALSE(cut.Str(&s));
  EXPECT_EQ(cut.error(), Error::kTruncated);
  // A uint32 cut after two of its bytes; an empty input.
  Reader short_int("\xCE\x00\x01"sv);
  EXPECT_FALSE(short_int.Int(&i));
  EXPECT_EQ(short_int.error(), Error::kTruncated);
  Reader empty("");
  EXPECT_FALSE(empty.Nil());
  EXPECT_EQ(empty.error(), Error::kTruncated);
  // 0xc1 is never used.
  Reader reserved("\xC1"sv);
  EXPECT_FALSE(reserved.Nil());
  EXPECT_EQ(reserved.error(), Error::kMalformed);
  // A wrong type fails, and a failed reader stays failed.
  Reader wrong("\xA1x\xC0"sv);
  EXPECT_FALSE(wrong.Nil());
  EXPECT_EQ(wrong.error(), Error::kWrongType);
  EXPECT_FALSE(wrong.Str(&s));
  EXPECT_EQ(wrong.Peek(), Type::kInvalid);
  EXPECT_EQ(wrong.error(), Error::kWrongType);
  EXPECT_EQ(wrong.position(), 0u);
}

TEST(WireTest, CallerLimitsBound) {
  const std::string array = Pack([](Packer& pk) {
    pk.pack_array(3);
    for (int k = 0; k < 3; ++k) pk.pack_nil();
  });
  uint32_t n;
  Reader ok(array, {.max_elements = 3});
  EXPECT_TRUE(ok.ArrayHeader(&n));
  Reader over(array, {.max_elements = 2});
  EXPECT_FALSE(over.ArrayHeader(&n));
  EXPECT_EQ(over.error(), Error::kLimit);

  const std::string str = Pack([](Packer& pk) { PackStr(pk, "abcd"); });
  std::string_view s;
  Reader long_str(str, {.max_bytes = 3});
  EXPECT_FALSE(long_str.Str(&s));
  EXPECT_EQ(long_str.error(), Error::kLimit);
  Reader skip_str(str, {.max_bytes = 3});
  EXPECT_FALSE(skip_str.Skip());
  EXPECT_EQ(skip_str.error(), Error::kLimit);
}

TEST(WireTest, SkipReturnsTheValueAndBoundsDepth) {
  const std::string bytes = Pack([](Packer& pk) {
    pk.pack_map(2);
    PackStr(pk, "k");
    pk.pack_array(3);
    pk.pack_double(1.5);
    PackBin(pk, "b");
    pk.pack_array(0);
    pk.pack_int64(-200);
    pk.pack_ext(2, 7);
    pk.pack_ext_body("xy", 2);
    pk.pack_uint64(9);  // After the map.
  });
  Reader r(bytes);
  std::string_view skipped;
  ASSERT_TRUE(r.Skip(&skipped));
  EXPECT_EQ(skipped, std::string_view(bytes).substr(0, bytes.size() - 1));
  uint64_t u;
  ASSERT_TRUE(r.Uint(&u));
  EXPECT_EQ(u, 9u);
  EXPECT_TRUE(r.done());

  // 10 nested arrays around a nil: 10 levels of containers, 11 with the nil.
  const std::string deep = std::string(10, '\x91') + "\xC0";
  EXPECT_TRUE(Reader(deep, {.max_depth = 11}).Skip());
  Reader too_deep(deep, {.max_depth = 10});
  EXPECT_FALSE(too_deep.Skip());
  EXPECT_EQ(too_deep.error(), Error::kLimit);
  // The default depth limit holds for any input.
  const std::string nested = std::string(100000, '\x91') + "\xC0";
  Reader very_deep(nested);
  EXPECT_FALSE(very_deep.Skip());
  EXPECT_EQ(very_deep.error(), Error::kLimit);
  // A truncated element inside.
  Reader cut("\x92\x01"sv);
  EXPECT_FALSE(cut.Skip());
  EXPECT_EQ(cut.error(), Error::kTruncated);
}

// The differential test: random documents of every msgpack form, packed by
// msgpack-c, read by the Reader (fast path and msgpack::parse alike) and by
// msgpack::unpack; both must agree on every document, on every prefix of it
// (all truncated) and on every single-byte mutation of it.

void PackRandom(std::mt19937_64& rng, int depth, Packer& pk) {
  const int kind = static_cast<int>(rng() % (depth < 4 ? 12 : 9));
  const int64_t edges[] = {0,
                           1,
                           31,
                           32,
                           127,
                           128,
                           255,
                           256,
                           65535,
                           65536,
                           0xFFFFFFFFLL,
                           0x100000000LL,
                           INT64_MAX,
                           -1,
                           -32,
                           -33,
                           -128,
                           -129,
                           -32768,
                           -32769,
                           INT32_MIN,
                           INT32_MIN - 1LL,
                           INT64_MIN};
  const size_t lengths[] = {0, 1, 5, 31, 32, 200, 255, 256, 300};
  switch (kind) {
    case 0:
      pk.pack_nil();
      break;
    case 1:
      PackBool(pk, rng() % 2 == 0);
      break;
    case 2: {  // An edge, or one off it (wrapping around at the ends, as C++20 defines).
      const uint64_t edge = static_cast<uint64_t>(edges[rng() % std::size(edges)]);
      pk.pack_int64(static_cast<int64_t>(edge + rng() % 3 - 1));
      break;
    }
    case 3:
      pk.pack_uint64(rng() >> (rng() % 64));
      break;
    case 4:
      pk.pack_int64(-static_cast<int64_t>(rng() >> (1 + rng() % 63)));
      break;
    case 5:
      PackStr(pk, std::string(lengths[rng() % std::size(lengths)], 's'));
      break;
    case 6:
      PackBin(pk, std::string(lengths[rng() % std::size(lengths)], 'b'));
      break;
    case 7:
      rng() % 2 ? pk.pack_double(0.5) : pk.pack_float(0.25f);
      break;
    case 8: {
      const uint32_t n = static_cast<uint32_t>(lengths[rng() % std::size(lengths)]);
      pk.pack_ext(n, 7);
      const std::string body(n, 'e');
      pk.pack_ext_body(body.data(), n);
      break;
    }
    default: {  // A container; 16-17 elements now and then, for the 16-bit headers.
      const bool big = depth < 2 && rng() % 5 == 0;  // Near the top only: documents stay small.
      const uint32_t n = static_cast<uint32_t>(big ? 15 + rng() % 3 : rng() % 4);
      const bool map = kind == 9;
      map ? pk.pack_map(n) : pk.pack_array(n);
      for (uint32_t k = 0; k < (map ? 2 * n : n); ++k) PackRandom(rng, depth + 1, pk);
    }
  }
}

// A value as text, read with the Reader; false when the Reader fails.
bool Describe(Reader& r, int depth, std::string* out) {
  if (depth > 64) return false;
  std::string_view s;
  uint32_t n;
  bool b;
  switch (r.Peek()) {
    case Type::kNil:
      *out += "nil ";
      return r.Nil();
    case Type::kBool:
      if (!r.Bool(&b)) return false;
      *out += b ? "true " : "false ";
      return true;
    case Type::kInt: {
      Reader probe = r;
      uint64_t u;
      int64_t i;
      if (probe.Uint(&u)) {
        r = probe;
        *out += "u" + std::to_string(u) + " ";
        return true;
      }
      if (!r.Int(&i)) return false;
      *out += "i" + std::to_string(i) + " ";
      return true;
    }
    case Type::kStr:
      if (!r.Str(&s)) return false;
      *out += "s" + std::string(s) + " ";
      return true;
    case Type::kBin:
      if (!r.Bin(&s)) return false;
      *out += "b" + std::string(s) + " ";
      return true;
    case Type::kFloat:
      *out += "float ";
      return r.Skip();
    case Type::kExt:
      *out += "ext ";
      return r.Skip();
    case Type::kArray:
    case Type::kMap: {
      const bool map = r.Peek() == Type::kMap;
      if (!(map ? r.MapHeader(&n) : r.ArrayHeader(&n))) return false;
      *out += (map ? "{" : "[") + std::to_string(n) + " ";
      for (uint32_t k = 0; k < (map ? 2 * n : n); ++k) {
        if (!Describe(r, depth + 1, out)) return false;
      }
      *out += map ? "} " : "] ";
      return true;
    }
    case Type::kInvalid:
      return false;
  }
  return false;
}

// The same text from msgpack-c's object tree.
void Describe(const msgpack::object& o, std::string* out) {
  switch (o.type) {
    case msgpack::type::NIL:
      *out += "nil ";
      return;
    case msgpack::type::BOOLEAN:
      *out += o.via.boolean ? "true " : "false ";
      return;
    case msgpack::type::POSITIVE_INTEGER:
      *out += "u" + std::to_string(o.via.u64) + " ";
      return;
    case msgpack::type::NEGATIVE_INTEGER:
      *out += "i" + std::to_string(o.via.i64) + " ";
      return;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      *out += "float ";
      return;
    case msgpack::type::STR:
      *out += "s" + std::string(o.via.str.ptr, o.via.str.size) + " ";
      return;
    case msgpack::type::BIN:
      *out += "b" + std::string(o.via.bin.ptr, o.via.bin.size) + " ";
      return;
    case msgpack::type::EXT:
      *out += "ext ";
      return;
    case msgpack::type::ARRAY:
      *out += "[" + std::to_string(o.via.array.size) + " ";
      for (uint32_t k = 0; k < o.via.array.size; ++k) Describe(o.via.array.ptr[k], out);
      *out += "] ";
      return;
    case msgpack::type::MAP:
      *out += "{" + std::to_string(o.via.map.size) + " ";
      for (uint32_t k = 0; k < o.via.map.size; ++k) {
        Describe(o.via.map.ptr[k].key, out);
        Describe(o.via.map.ptr[k].val, out);
      }
      *out += "} ";
      return;
  }
}

// What the Reader makes of `bytes` as one value: its text, or "" when it
// fails (*error says why).
std::string ByReader(std::string_view bytes, Error* error = nullptr) {
  Reader r(bytes);
  std::string out;
  const bool ok = Describe(r, 0, &out) && r.done();
  if (error != nullptr) *error = r.error();
  return ok ? out : "";
}

std::string ByUnpack(std::string_view bytes) {
  try {
    // Without limits, unpack allocates 16 bytes per element a mutated
    // header claims (gigabytes) before reading one; any count above the
    // input's size is a lie, which the Reader refuses too.
    const auto n = static_cast<uint32_t>(bytes.size());
    const msgpack::unpack_limit limits(n, n, n, n, n, /*depth=*/1000);
    size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limits);
    if (off != bytes.size()) return "";  // Trailing bytes.
    std::string out;
    Describe(oh.get(), &out);
    return out;
  } catch (const std::exception&) {  // Malformed, truncated or trailing bytes.
    return "";
  }
}

TEST(WireTest, ReaderAgreesWithMsgpackUnpack) {
  const char* env = std::getenv("QUIRE_SEED");
  const uint64_t base = env != nullptr ? std::strtoull(env, nullptr, 10) : 1;
  std::printf("base seed %llu (QUIRE_SEED)\n", static_cast<unsigned long long>(base));
  for (uint64_t seed = base; seed < base + 300; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    const std::string doc = Pack([&rng](Packer& pk) { PackRandom(rng, 0, pk); });
    const std::string want = ByUnpack(doc);
    ASSERT_FALSE(want.empty());
    ASSERT_EQ(ByReader(doc), want);
    for (size_t cut = 0; cut < doc.size(); ++cut) {
      // A copy of exactly `cut` bytes, so reading past it is an ASan error.
      const std::string prefix = doc.substr(0, cut);
      Error error;
      ASSERT_EQ(ByReader(prefix, &error), "") << "prefix " << cut;
      ASSERT_EQ(error, Error::kTruncated) << "prefix " << cut;
    }
    for (int k = 0; k < 50; ++k) {
      std::string mutated = doc;
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
      ASSERT_EQ(ByReader(mutated), ByUnpack(mutated)) << Hex(mutated);
    }
  }
}

}  // namespace
}  // namespace quire::wire
