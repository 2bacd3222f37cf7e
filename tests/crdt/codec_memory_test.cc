// What the wire decoders (DecodeChange, DecodeOp) and wire::Reader cost in
// heap memory on input from outside, measured with a counting allocator:
// this binary replaces the global operator new and delete, so it is its own
// test executable.
//
// The bound: junk, and counts that claim more than the input holds, cost
// next to nothing (under 4 MiB for 1 MiB of input, in fact a few KiB); a
// decoder's memory follows what it has actually decoded, never a count.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>

#include "base/wire.h"
#include "crdt/change_codec.h"
#include "ot/codec.h"

namespace {

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_allocations{0};

void* Allocate(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  const int64_t live = g_live += static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
  ++g_allocations;
  return p;
}

void Free(void* p) {
  if (p == nullptr) return;
  g_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, size_t) noexcept { Free(p); }
void operator delete[](void* p, size_t) noexcept { Free(p); }

namespace quire {
namespace {

constexpr int64_t kMiB = 1 << 20;

// Peak heap bytes allocated by `fn` beyond what was live when it started.
template <typename Fn>
int64_t PeakBytes(Fn&& fn) {
  const int64_t before = g_live.load();
  g_peak = before;
  fn();
  return g_peak.load() - before;
}

uint64_t BaseSeed() {
  const char* env = std::getenv("QUIRE_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// Both decoders on `bytes`: each must refuse it within `limit` bytes of heap.
void ExpectRefusedWithin(const std::string& bytes, int64_t limit) {
  int64_t peak = PeakBytes([&] { EXPECT_FALSE(ot::DecodeOp(bytes).ok()); });
  EXPECT_LT(peak, limit) << "DecodeOp";
  peak = PeakBytes([&] { EXPECT_FALSE(crdt::DecodeChange(bytes).ok()); });
  EXPECT_LT(peak, limit) << "DecodeChange";
}

TEST(DecodeMemoryTest, OneMiBOfRandomJunkCostsUnderFourMiB) {
  const uint64_t base = BaseSeed();
  std::printf("base seed %llu (QUIRE_SEED)\n", static_cast<unsigned long long>(base));
  for (uint64_t seed = base; seed < base + 20; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    ExpectRefusedWithin(RandomBytes(rng, kMiB), 4 * kMiB);
  }
}

TEST(DecodeMemoryTest, HugeDeclaredCountsFollowedByJunkCostUnderFourMiB) {
  const std::string prefixes[] = {
      // An op of 2^32-1 components; one of 2^20 (the limit).
      std::string("\xDD\xFF\xFF\xFF\xFF", 5),
      std::string("\xDD\x00\x10\x00\x00", 5),
      // A change with 2^20 ops; with 1024 parents; with 2^32-1 ops.
      std::string("\x94\x01\x00\x90\xDD\x00\x10\x00\x00", 9),
      std::string("\x94\x01\x00\xDC\x04\x00", 6),
      std::string("\x94\x01\x00\x90\xDD\xFF\xFF\xFF\xFF", 9),
      // ...whose first op is a 4-element array, then junk.
      std::string("\x94\x01\x00\x90\xDD\x00\x10\x00\x00\x94", 10),
  };
  std::mt19937_64 rng(BaseSeed());
  for (const std::string& prefix : prefixes) {
    SCOPED_TRACE(prefix.size());
    for (char fill : {'\0', '\xC0', '\x91', '\xDD'}) {  // Zeros, nils, nested arrays, array32s.
      ExpectRefusedWithin(prefix + std::string(kMiB, fill), 4 * kMiB);
    }
    ExpectRefusedWithin(prefix + RandomBytes(rng, kMiB), 4 * kMiB);
  }
}

// A count the input cannot back is refused before anything is built, even
// where the elements that are there would be valid.
TEST(DecodeMemoryTest, ACountBeyondTheBytesCostsNothing) {
  std::string op("\xDD\xFF\xFF\xFF\xFF", 5);
  op += std::string(kMiB, '\x01');  // 1 MiB of valid retains, 2^32-1 claimed.
  EXPECT_LT(PeakBytes([&] { EXPECT_FALSE(ot::DecodeOp(op).ok()); }), 4096);
  std::string change("\x94\x01\x00\x90\xDD\x00\x0F\xFF\xFF", 9);  // 2^20 - 1 ops claimed...
  for (int k = 0; k < 1000; ++k) change += std::string("\x94\x01\x92\x01\x00\x01\xC2", 7);
  EXPECT_LT(PeakBytes([&] { EXPECT_FALSE(crdt::DecodeChange(change).ok()); }), 4096);
}

// What a decoder holds grows with what it has decoded: a valid prefix
// costs at most a constant per input byte (Component and Op are much
// larger than their encodings, and a vector briefly holds old and new
// storage while it grows), whatever the count says.
TEST(DecodeMemoryTest, AValidPrefixCostsAConstantPerByte) {
  // 2^18 + 1 components claimed: 2^18 valid ones (retain 1, delete 1, ...)
  // and a nil.
  std::string op("\xDD\x00\x04\x00\x01", 5);
  for (int k = 0; k < (1 << 17); ++k) op += "\x01\xFF";
  op += "\xC0";
  const int64_t op_peak = PeakBytes([&] { EXPECT_FALSE(ot::DecodeOp(op).ok()); });
  // 2^15 + 1 ops claimed: 2^15 deletes and a nil.
  std::string change("\x94\x01\x00\x90\xDD\x00\x00\x80\x01", 9);
  for (int k = 0; k < (1 << 15); ++k) change += std::string("\x94\x01\x92\x01\x00\x01\xC2", 7);
  change += "\xC0";
  const int64_t change_peak = PeakBytes([&] { EXPECT_FALSE(crdt::DecodeChange(change).ok()); });
  // The smallest op: an insert of empty text (Apply refuses it, decoding does not).
  std::string inserts("\x94\x01\x00\x90\xDD\x00\x00\x80\x01", 9);
  for (int k = 0; k < (1 << 15); ++k) inserts += std::string("\x94\x00\xC0\xC0\xA0", 5);
  inserts += "\xC0";
  const int64_t insert_peak = PeakBytes([&] { EXPECT_FALSE(crdt::DecodeChange(inserts).ok()); });
  auto per_byte = [](int64_t peak, const std::string& in) {
    return static_cast<double>(peak) / static_cast<double>(in.size());
  };
  std::printf("peak heap per input byte of a valid prefix: op %.1f, deletes %.1f, inserts %.1f\n",
              per_byte(op_peak, op), per_byte(change_peak, change), per_byte(insert_peak, inserts));
  EXPECT_GT(op_peak, 0);                 // The prefix was decoded...
  EXPECT_LT(per_byte(op_peak, op), 80);  // ...at a bounded cost per byte.
  EXPECT_GT(change_peak, 0);
  EXPECT_LT(per_byte(change_peak, change), 56);
  EXPECT_LT(per_byte(insert_peak, inserts), 80);
}

TEST(DecodeMemoryTest, TheReaderAllocatesNothing) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_array(4);
  wire::PackStr(pk, std::string(1000, 's'));
  pk.pack_map(1000);
  for (int k = 0; k < 1000; ++k) {
    pk.pack_uint64(k);
    pk.pack_array(2);
    pk.pack_int64(-k);
    wire::PackBin(pk, "bin");
  }
  pk.pack_array(0);
  pk.pack_nil();
  const std::string bytes = buf.Take();
  const int64_t before = g_allocations.load();
  wire::Reader r(bytes);
  uint32_t n = 0;
  std::string_view s;
  ASSERT_TRUE(r.ArrayHeader(&n) && r.Str(&s) && r.MapHeader(&n));
  for (uint32_t k = 0; k < n; ++k) {
    uint64_t key;
    uint32_t two;
    int64_t v;
    ASSERT_TRUE(r.Uint(&key) && r.ArrayHeader(&two) && r.Int(&v) && r.Bin(&s));
  }
  ASSERT_TRUE(r.Skip() && r.Nil() && r.done());
  wire::Reader whole(bytes);
  ASSERT_TRUE(whole.Skip() && whole.done());
  EXPECT_EQ(g_allocations.load(), before);
}

}  // namespace
}  // namespace quire
