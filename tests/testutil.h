// Helpers shared by the tests of several layers.
#ifndef QUIRE_TESTS_TESTUTIL_H_
#define QUIRE_TESTS_TESTUTIL_H_

#include <string>
#include <string_view>

namespace quire::test {

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
