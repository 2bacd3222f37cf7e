// A minimal, allocation-free MessagePack writer and a bounds-checked reader
// for the subset Quire's core encodes (arrays, maps, integers, strings,
// binary, nil, booleans). The reader never throws and never reads past its
// input: every call returns false on malformed or truncated bytes, after
// which the reader stays failed. Declared container sizes are checked
// against the bytes left, so a tiny input cannot make a caller reserve
// gigabytes.
//
// Byte formats follow https://github.com/msgpack/msgpack/blob/master/spec.md;
// the writer always picks the shortest encoding.
//
// Thread safety: value types; no shared state.
#ifndef QUIRE_BASE_MSGPACK_H_
#define QUIRE_BASE_MSGPACK_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace quire::msgpack {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void ArrayHeader(uint32_t n);
  void MapHeader(uint32_t n);
  void Uint(uint64_t v);
  void Int(int64_t v);  // Uses the unsigned forms for v >= 0.
  void Str(std::string_view s);
  void Bin(std::string_view s);
  void Nil();
  void Bool(bool v);

 private:
  void Byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }
  void Big(uint64_t v, int bytes);
  std::string* out_;
};

enum class Type { kNil, kBool, kInt, kFloat, kStr, kBin, kArray, kMap, kExt, kInvalid };

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  // Type of the next value without consuming it; kInvalid at the end or on
  // a reserved byte.
  Type Peek() const;
  bool ArrayHeader(uint32_t* n);
  bool MapHeader(uint32_t* n);
  // Any integer form. Int() fails for values above INT64_MAX, Uint() for
  // negative values.
  bool Int(int64_t* v);
  bool Uint(uint64_t* v);
  // The string's bytes, pointing into the input (no copy).
  bool Str(std::string_view* s);
  bool Bin(std::string_view* s);
  bool Nil();
  bool Bool(bool* v);
  // Skips one value of any type (nested up to `max_depth`).
  bool Skip(int max_depth = 32);

  bool failed() const { return failed_; }
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Fail() { failed_ = true; return false; }
  bool Take(size_t n, const uint8_t** p);
  bool BigEndian(int bytes, uint64_t* v);
  bool Length(uint8_t tag, uint8_t fix_mask, uint8_t fix_base, uint8_t tag8,
              uint8_t tag16, uint8_t tag32, uint32_t* n);
  bool Container(uint8_t fix_base, uint8_t tag16, uint8_t tag32, uint32_t* n,
                 size_t min_bytes_each);

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace quire::msgpack

#endif  // QUIRE_BASE_MSGPACK_H_
