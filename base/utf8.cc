#include "base/utf8.h"

namespace quire::utf8 {

Result<size_t> Validate(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t count = 0;
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      __builtin_memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
      count += 8;
    }
    if (i >= n) break;
    const uint8_t b = p[i];
    if (b < 0x80) {
      ++i;
      ++count;
      continue;
    }
    size_t len;
    uint32_t min;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = b & 0x07;
    } else {
      return InvalidArgument("invalid UTF-8 lead byte at offset " + std::to_string(i));
    }
    if (i + len > n) {
      return InvalidArgument("truncated UTF-8 sequence at offset " + std::to_string(i));
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        return InvalidArgument("invalid UTF-8 continuation byte at offset " +
                               std::to_string(i + k));
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min) return InvalidArgument("overlong UTF-8 sequence at offset " + std::to_string(i));
    if (cp > 0x10FFFF) return InvalidArgument("code point above U+10FFFF at offset " + std::to_string(i));
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      return InvalidArgument("UTF-16 surrogate encoded in UTF-8 at offset " + std::to_string(i));
    }
    i += len;
    ++count;
  }
  return count;
}

bool IsAscii(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0;
  uint64_t any = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    __builtin_memcpy(&word, p + i, 8);
    any |= word;
  }
  for (; i < text.size(); ++i) any |= p[i];
  return (any & 0x8080808080808080ULL) == 0;
}

size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return count;
}

bool Advance(std::string_view text, size_t* offset, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  size_t i = *offset;
  while (n > 0) {
    // ASCII fast path: while the next eight bytes are ASCII, skip them whole.
    while (n >= 8 && i + 8 <= size) {
      uint64_t word;
      __builtin_memcpy(&word, p + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
      n -= 8;
    }
    if (n == 0) break;
    if (i >= size) {
      *offset = size;
      return false;
    }
    i += SequenceLength(p[i]);
    --n;
  }
  if (i > size) {  // A truncated final sequence.
    *offset = size;
    return false;
  }
  *offset = i;
  return true;
}

size_t ByteOffset(std::string_view text, size_t index) {
  size_t offset = 0;
  Advance(text, &offset, index);
  return offset;
}

void Append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t Next(std::string_view text, size_t* offset) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data()) + *offset;
  const size_t len = SequenceLength(p[0]);
  char32_t cp;
  switch (len) {
    case 1: cp = p[0]; break;
    case 2: cp = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F); break;
    case 3: cp = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F); break;
    default:
      cp = ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
  *offset += len;
  return cp;
}

}  // namespace quire::utf8
