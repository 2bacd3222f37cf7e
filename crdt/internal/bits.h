// Bits is a fixed-size bit set over LVs with word-at-a-time range
// operations and, after Index(), rank (set bits before a position) in
// constant time. Decoding validates and derives with it; Text() finds each
// character's bytes by rank.
//
// Thread safety: a value type.
#ifndef QUIRE_CRDT_INTERNAL_BITS_H_
#define QUIRE_CRDT_INTERNAL_BITS_H_

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/coding.h"

namespace quire::crdt::internal {

class Bits {
 public:
  explicit Bits(size_t n) : size_(n), words_((n + 63) / 64, 0) {}
  // REQUIRES for every range below: a + n <= the size (callers check it).
  void Set(size_t a, size_t n) {
    assert(n <= size_ && a <= size_ - n);
    if (n > 0 && a % 64 + n <= 64) {  // Within one word: the common case.
      words_[a / 64] |= (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << (a % 64);
      return;
    }
    for (size_t i = a; i < a + n;) {
      const size_t w = i / 64, b = i % 64, k = std::min<size_t>(64 - b, a + n - i);
      words_[w] |= (k == 64 ? ~uint64_t{0} : ((uint64_t{1} << k) - 1)) << b;
      i += k;
    }
  }
  bool Get(size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  // Bits equal to `value` from a on, at most n.
  size_t Run(size_t a, size_t n, bool value) const {
    assert(n <= size_ && a <= size_ - n);
    if (n == 0) return 0;
    if (a % 64 + n <= 64) {  // Within one word: the common case.
      uint64_t word = (value ? ~words_[a / 64] : words_[a / 64]) >> (a % 64);
      if (n < 64) word &= (uint64_t{1} << n) - 1;
      return word != 0 ? static_cast<size_t>(std::countr_zero(word)) : n;
    }
    size_t i = a;
    while (i < a + n) {
      const size_t w = i / 64, b = i % 64;
      uint64_t word = (value ? ~words_[w] : words_[w]) >> b;  // Ones where the bit differs.
      if (word != 0) return std::min(i + std::countr_zero(word), a + n) - a;
      i += 64 - b;
    }
    return n;
  }
  bool All(size_t a, size_t n) const { return Run(a, n, true) == n; }
  bool None(size_t a, size_t n) const { return Run(a, n, false) == n; }
  // Set bits before i (after Index()).
  size_t Rank(size_t i) const {
    const uint64_t below = words_[i / 64] & ((uint64_t{1} << (i % 64)) - 1);
    return ranks_[i / 64] + static_cast<size_t>(PopCount64(below));
  }
  void Index() {
    ranks_.resize(words_.size());
    size_t n = 0;
    for (size_t w = 0; w < words_.size(); ++w) {
      ranks_[w] = static_cast<uint32_t>(n);
      n += static_cast<size_t>(PopCount64(words_[w]));
    }
  }

 private:
  size_t size_;
  std::vector<uint64_t> words_;
  std::vector<uint32_t> ranks_;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_BITS_H_
