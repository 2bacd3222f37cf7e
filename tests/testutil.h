// Helpers shared by the tests of several layers.
#ifndef QUIRE_TESTS_TESTUTIL_H_
#define QUIRE_TESTS_TESTUTIL_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace quire::test {

// How many cases a randomized test runs: all of them in optimized builds
// (the dev preset), a twentieth under AddressSanitizer, whose unoptimized
// build runs them 10 to 30 times slower. CI runs both presets, so every
// case still runs in CI; the sanitizer run looks for memory errors on a
// sample of them.
inline uint64_t Cases(uint64_t full) {
#if defined(__SANITIZE_ADDRESS__)
  return std::max<uint64_t>(1, full / 20);
#else
  return full;
#endif
}

// Bytes as lowercase hex pairs separated by spaces ("94 01 c0"), the way
// docs/ write byte examples, so a failing comparison shows where it differs.
inline std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace quire::test

#endif  // QUIRE_TESTS_TESTUTIL_H_
