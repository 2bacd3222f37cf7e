#include "base/coding.h"

#include <zlib.h>

namespace quire {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

namespace coding_internal {

bool GetLongVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; i < 10 && static_cast<size_t>(i) < in->size(); ++i, shift += 7) {
    const auto b = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && b > 1) return false;  // Above 64 bits.
    result |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

}  // namespace coding_internal

bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  *v = x;
  in->remove_prefix(4);
  return true;
}

uint32_t Crc32(std::string_view data, uint32_t crc) {
  // crc32_z takes a size_t length (crc32() only 32 bits). Against the
  // slicing-by-4 table code this replaces, zlib 1.2.13 measured 2.6x faster
  // on 4 KiB and more (snapshots) and about 35 ns slower on 32 bytes (a
  // keystroke's change record), where it goes byte by byte.
  return static_cast<uint32_t>(
      crc32_z(crc, reinterpret_cast<const Bytef*>(data.data()), data.size()));
}

}  // namespace quire
