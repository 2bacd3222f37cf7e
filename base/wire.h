// MessagePack for everything Quire sends or stores as msgpack (changes,
// OT ops, and the server's and client's protocol messages), through one
// implementation: msgpack-c (Debian's header-only libmsgpack-cxx-dev, 4.x),
// built with MSGPACK_NO_BOOST. Code includes this header, not <msgpack.hpp>
// (the tests use msgpack::unpack as an oracle): the build settings msgpack-c
// needs here come with the quire::base target.
//
// Writing: msgpack-c's packer over a Buffer that is reused from message to
// message (clear() keeps its capacity). The packer always picks the
// shortest form (tests/base/wire_test.cc checks the bytes at every
// boundary), so equal values always encode to equal bytes.
//
//   wire::Buffer buf;
//   wire::Packer pk(buf);
//   pk.pack_array(2);
//   pk.pack_uint64(7);
//   wire::PackStr(pk, "hi");
//   Send(buf.view());
//   buf.clear();
//
// Reading: a pull Reader that hands out one value (or container header) at
// a time, so a container is read element by element and nothing is built
// from a count the input claims. The forms Quire writes for nearly every
// value (fixints, the 8- to 64-bit ints, nil, booleans, fixstr, fixarray,
// fixmap) are decoded inline; every other form, and anything malformed or
// truncated, goes to msgpack-c's visitor parser (msgpack::parse), stopped
// right after a container's header. A call into msgpack::parse for every
// value made change decoding twice as slow as the hand-written reader this
// replaced; docs/protocol.md ("msgpack implementation") has the figures,
// and wire_test checks the Reader against msgpack::unpack on random input.
// The Reader allocates nothing and never throws: on malformed or truncated
// input, a wrong type or a broken limit, the call returns false, error()
// says why, and the reader stays failed.
//
//   wire::Reader r(frame, {.max_elements = 1024, .max_bytes = 1 << 20});
//   uint32_t n;
//   uint64_t type;
//   if (!r.ArrayHeader(&n) || n < 2 || !r.Uint(&type)) return Reject(r.error());
//
// Bounds: an array or map header whose count exceeds the bytes left (each
// element takes at least one byte) or Limits::max_elements fails; so does a
// str, bin or ext longer than the bytes left or Limits::max_bytes; Skip()
// follows at most Limits::max_depth levels of nesting. A decoder built on
// the Reader that grows its result while reading (never reserving by a
// count) costs memory in proportion to the input it has accepted so far.
//
// Thread safety: Buffer and Reader are values; distinct objects may be used
// concurrently.
#ifndef QUIRE_BASE_WIRE_H_
#define QUIRE_BASE_WIRE_H_

// quire::base sets these for every target that links it; anything else
// would compile msgpack-c's inline functions differently (an ODR
// violation) or pull in Boost.
#if !defined(MSGPACK_NO_BOOST) || !defined(MSGPACK_EMBED_STACK_SIZE) || \
    MSGPACK_EMBED_STACK_SIZE != 0
#error "link quire::base: it defines MSGPACK_NO_BOOST and MSGPACK_EMBED_STACK_SIZE=0"
#endif

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <msgpack/pack.hpp>
#include <string>
#include <string_view>

namespace quire::wire {

// msgpack-c's output stream concept (write(data, size)) over a std::string.
class Buffer {
 public:
  void write(const char* data, size_t size) { bytes_.append(data, size); }  // For the packer.

  void clear() { bytes_.clear(); }  // Keeps the capacity for the next message.
  void reserve(size_t n) { bytes_.reserve(n); }
  size_t size() const { return bytes_.size(); }
  std::string_view view() const { return bytes_; }
  // Moves the bytes out, leaving the buffer empty (without its capacity).
  std::string Take() {
    std::string out = std::move(bytes_);
    bytes_.clear();
    return out;
  }

 private:
  std::string bytes_;
};

// pack_array, pack_map, pack_uint64, pack_int64, pack_nil, pack_true, ...
using Packer = msgpack::packer<Buffer>;

// REQUIRES: s.size() < 2^32 (msgpack's limit for one str or bin).
inline void PackStr(Packer& pk, std::string_view s) {
  assert(s.size() <= UINT32_MAX);
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
inline void PackBin(Packer& pk, std::string_view s) {
  assert(s.size() <= UINT32_MAX);
  pk.pack_bin(static_cast<uint32_t>(s.size()));
  pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}
inline void PackBool(Packer& pk, bool v) { v ? pk.pack_true() : pk.pack_false(); }

// Caller limits on what a Reader accepts; the bytes left always bound too.
struct Limits {
  uint32_t max_depth = 32;             // Nesting Skip() follows (a scalar is depth 1).
  uint32_t max_elements = UINT32_MAX;  // Per array; per map, key-value pairs.
  uint32_t max_bytes = UINT32_MAX;     // Per str, bin or ext.
};

enum class Type : uint8_t { kNil, kBool, kInt, kFloat, kStr, kBin, kArray, kMap, kExt, kInvalid };

enum class Error : uint8_t {
  kNone,
  kTruncated,  // The input ends inside a value, or a count claims more than the bytes left.
  kMalformed,  // A byte no msgpack value starts with (0xc1).
  kWrongType,  // Not the type asked for (or an integer outside the asked range).
  kLimit,      // Over a caller limit: max_elements, max_bytes or max_depth.
};
std::string_view ErrorName(Error error);  // "truncated", "malformed", ...

class Reader {
 public:
  // REQUIRES: `bytes` outlives the reader (and every view it returned).
  explicit Reader(std::string_view bytes, const Limits& limits = {})
      : in_(bytes), limits_(limits) {}
  template <typename S>
  requires std::same_as<S, std::string> Reader(S&&, const Limits& = {})
  = delete;  // A temporary string would dangle.

  // Type of the next value without consuming it. kInvalid at the end, on a
  // malformed or truncated value, or once failed; the reader has then
  // failed and error() says why (check done() before peeking past the end).
  Type Peek();

  bool ArrayHeader(uint32_t* n);
  bool MapHeader(uint32_t* n);  // *n key-value pairs follow.
  // Any integer form. Int() fails for values above INT64_MAX, Uint() for
  // negative ones.
  bool Int(int64_t* v);
  bool Uint(uint64_t* v);
  // The bytes point into the input (no copy).
  bool Str(std::string_view* s);
  bool Bin(std::string_view* s);
  bool Nil();
  // Consumes the next value when it is nil and returns true; otherwise
  // returns false and consumes nothing (for fields that are nil or a
  // value). Fails the reader, like Peek(), only when the next value cannot
  // be read at all.
  bool TryNil();
  bool Bool(bool* v);
  // Skips one value of any type; `*bytes`, when given, gets its encoding
  // (for relaying a field unchanged).
  bool Skip(std::string_view* bytes = nullptr);

  bool failed() const { return error_ != Error::kNone; }
  Error error() const { return error_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  // The value (or container header) at pos_, parsed once and kept until
  // it is consumed.
  struct Token {
    Type type = Type::kInvalid;
    Error error = Error::kNone;  // Why type is kInvalid.
    bool negative = false;       // kInt: `value` holds an int64 below 0.
    uint64_t value = 0;          // kInt, kBool; kArray, kMap: the count.
    const char* data = nullptr;  // kStr, kBin, kExt.
    uint32_t size = 0;
    size_t end = 0;  // Offset just past it.
  };

  const Token& Next();
  // The fast path: false when the value at `pos` is not one of its forms.
  static bool DecodeCommonForm(std::string_view in, size_t pos, Token* t);
  void ParseWithMsgpackC();
  bool Fail(Error error);
  // Consumes the next token into *t when it has `type`; else fails.
  bool Take(Type type, Token* t);
  bool TakeContainer(Type type, uint64_t min_bytes_each, uint32_t* n);
  bool TakeBytes(Type type, std::string_view* s);

  std::string_view in_;
  Limits limits_;
  size_t pos_ = 0;
  Error error_ = Error::kNone;
  bool have_token_ = false;
  Token token_;
};

}  // namespace quire::wire

#endif  // QUIRE_BASE_WIRE_H_
