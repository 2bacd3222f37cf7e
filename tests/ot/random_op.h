// Random documents and ops for property tests, over every UTF-8 size.
// Document characters are distinct from each other and from inserted
// characters, so a test can follow a character from the old text to the new.
#ifndef QUIRE_TESTS_OT_RANDOM_OP_H_
#define QUIRE_TESTS_OT_RANDOM_OP_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "ot/text_op.h"

namespace quire::ot::test {

// Code point ranges with 1, 2, 3 and 4 UTF-8 bytes. The lower half of a
// range makes documents, the upper half inserted text.
struct Alphabet {
  char32_t lo;
  char32_t hi;  // Exclusive.
};
inline constexpr Alphabet kAlphabets[] = {
    {0x21, 0x7F},        // ASCII
    {0xC0, 0x250},       // 2 bytes: Latin
    {0x4E00, 0x4F00},    // 3 bytes: CJK
    {0x1F600, 0x1F700},  // 4 bytes: emoji
};

class RandomText {
 public:
  explicit RandomText(uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }
  size_t Uniform(size_t lo, size_t hi) {  // Inclusive.
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }

  // A document of `n` distinct code points; alphabet -1 mixes all sizes.
  std::vector<char32_t> Document(size_t n, int alphabet) {
    std::vector<char32_t> pool;
    for (int k = 0; k < 4; ++k) {
      if (alphabet != -1 && alphabet != k) continue;
      const Alphabet& a = kAlphabets[k];
      for (char32_t c = a.lo; c < a.lo + (a.hi - a.lo) / 2; ++c) pool.push_back(c);
    }
    std::shuffle(pool.begin(), pool.end(), rng_);
    pool.resize(std::min(n, pool.size()));
    return pool;
  }

  std::string Inserted(size_t n, int alphabet) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      const int k = alphabet == -1 ? static_cast<int>(Uniform(0, 3)) : alphabet;
      const Alphabet& a = kAlphabets[k];
      utf8::Append(out, static_cast<char32_t>(Uniform(a.lo + (a.hi - a.lo) / 2, a.hi - 1)));
    }
    return out;
  }

  // A random op that fits a document of `len` code points, often touching
  // its start and its end.
  TextOp Op(size_t len, int alphabet) {
    TextOp op;
    size_t pos = 0;
    const size_t steps = Uniform(0, 5);
    for (size_t s = 0; s < steps; ++s) {
      if (pos < len && Uniform(0, 2) != 0) {
        const size_t skip = Uniform(0, len - pos);
        op.Retain(skip);
        pos += skip;
      }
      switch (Uniform(0, 2)) {
        case 0:
          op.Insert(Inserted(Uniform(1, 4), alphabet));
          break;
        default:
          if (pos < len) {
            const size_t del = Uniform(1, std::min<size_t>(len - pos, 5));
            op.Delete(del);
            pos += del;
          }
      }
    }
    if (Uniform(0, 5) == 0) op.Retain(len - pos).Insert(Inserted(1, alphabet));  // At the end.
    return op;
  }

 private:
  std::mt19937_64 rng_;
};

inline std::string ToUtf8(const std::vector<char32_t>& cps) {
  std::string s;
  for (char32_t c : cps) utf8::Append(s, c);
  return s;
}

inline std::vector<char32_t> ToCodePoints(std::string_view s) {
  std::vector<char32_t> out;
  size_t off = 0;
  while (off < s.size()) out.push_back(utf8::Next(s, &off));
  return out;
}

}  // namespace quire::ot::test

#endif  // QUIRE_TESTS_OT_RANDOM_OP_H_
