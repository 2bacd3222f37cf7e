// Byte coding helpers: LEB128 varints (7 bits a byte, low bits first),
// zigzag for signed values, little-endian fixed32, and CRC-32 (the
// IEEE/zlib polynomial) for integrity checks of stored bytes. GetVarint is
// the one varint reader of every disk format (storage records, encoded
// documents).
#ifndef QUIRE_BASE_CODING_H_
#define QUIRE_BASE_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quire {

void PutVarint(std::string* out, uint64_t v);
void PutFixed32(std::string* out, uint32_t v);
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

namespace coding_internal {
// GetVarint's path for two bytes and more; call GetVarint.
bool GetLongVarint(std::string_view* in, uint64_t* v);
}  // namespace coding_internal

// Reads a varint from the front of *in and advances it. False (and *in
// untouched) on truncation or a varint longer than 10 bytes / above 64 bits.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  if (!in->empty() &&
      static_cast<uint8_t>((*in)[0]) < 0x80) {  // One byte: inline, the common case.
    *v = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    return true;
  }
  return coding_internal::GetLongVarint(in, v);
}
bool GetFixed32(std::string_view* in, uint32_t* v);

// CRC-32 of `data` (ISO-HDLC, the polynomial of zlib, gzip and PNG;
// "123456789" gives 0xCBF43926), continuing from `crc`:
// Crc32(b, Crc32(a)) == Crc32(a + b). Computed by zlib's crc32(), the same
// function the table-driven code here computed before, so stored checksums
// stay valid.
uint32_t Crc32(std::string_view data, uint32_t crc = 0);

// Set bits of x. Inline SWAR: without -mpopcnt, std::popcount is a
// library call.
inline int PopCount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

}  // namespace quire

#endif  // QUIRE_BASE_CODING_H_
