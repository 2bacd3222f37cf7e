// UTF-8 helpers. Quire counts text in Unicode scalar values (code points);
// these convert between code point counts and byte offsets and validate
// text that arrives from outside.
#ifndef QUIRE_BASE_UTF8_H_
#define QUIRE_BASE_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace quire::utf8 {

// Code points in `text`, or InvalidArgument naming the byte offset of the
// first invalid sequence. Rejects overlong forms, surrogates (U+D800..DFFF),
// values above U+10FFFF and truncated sequences.
Result<size_t> Validate(std::string_view text);

// Code points in `text`. REQUIRES: `text` is valid UTF-8 (counts lead bytes).
size_t CountCodePoints(std::string_view text);

// Byte offset of code point `index` in `text`, or text.size() when `index`
// equals the count. REQUIRES: valid UTF-8 and index <= CountCodePoints(text).
size_t ByteOffset(std::string_view text, size_t index);

// Moves byte offset `*offset` forward by `n` code points. Returns false,
// leaving *offset at text.size(), when the text ends first. Never reads past
// the text, even when it is not valid UTF-8.
bool Advance(std::string_view text, size_t* offset, size_t n);

// True when every byte is below 0x80.
bool IsAscii(std::string_view text);

// Bytes of the UTF-8 sequence whose lead byte is `lead`. REQUIRES: valid lead.
inline size_t SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Appends the UTF-8 encoding of `cp`. REQUIRES: a Unicode scalar value.
void Append(std::string& out, char32_t cp);

// Decodes the code point starting at byte `*offset` and advances it.
// REQUIRES: valid UTF-8, *offset < text.size().
char32_t Next(std::string_view text, size_t* offset);

}  // namespace quire::utf8

#endif  // QUIRE_BASE_UTF8_H_
