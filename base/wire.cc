#include "base/wire.h"

#include <algorithm>
#include <cassert>
#include <array>
#include <exception>
#include <msgpack/null_visitor.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // msgpack/parse.hpp needs its detail::value.

// The Reader relies on API v3's msgpack::parse, which reports where it
// stopped when the visitor stops it (v2 leaves the offset unchanged): at
// the last byte of the item the visitor returned false on, so just past a
// container's header is that offset + 1 (msgpack-c's test/visitor.cpp,
// return_false_start_array; wire_test checks it for every header size).
static_assert(MSGPACK_DEFAULT_API_VERSION >= 3, "msgpack-c API v3 is needed");

namespace quire::wire {
namespace {

// Records the first value msgpack::parse meets. It stops the parser right
// after a container's header (start_array/start_map return false), so the
// parser never descends and its stack, which MSGPACK_EMBED_STACK_SIZE=0
// leaves unreserved, never allocates.
template <typename Token>
class TokenVisitor : public msgpack::null_visitor {
 public:
  explicit TokenVisitor(Token* token) : t_(token) {}

  bool visit_nil() { return Set(Type::kNil, 0); }
  bool visit_boolean(bool v) { return Set(Type::kBool, v); }
  bool visit_positive_integer(uint64_t v) { return Set(Type::kInt, v); }
  // The int 8/16/32/64 forms come here even for values >= 0.
  bool visit_negative_integer(int64_t v) {
    t_->negative = v < 0;
    return Set(Type::kInt, static_cast<uint64_t>(v));
  }
  bool visit_float32(float) { return Set(Type::kFloat, 0); }
  bool visit_float64(double) { return Set(Type::kFloat, 0); }
  bool visit_str(const char* p, uint32_t n) { return Bytes(Type::kStr, p, n); }
  bool visit_bin(const char* p, uint32_t n) { return Bytes(Type::kBin, p, n); }
  bool visit_ext(const char* p, uint32_t n) { return Bytes(Type::kExt, p, n); }
  bool start_array(uint32_t n) { return Stop(Type::kArray, n); }
  bool start_map(uint32_t n) { return Stop(Type::kMap, n); }
  void parse_error(size_t, size_t) { Invalid(Error::kMalformed); }
  void insufficient_bytes(size_t, size_t) { Invalid(Error::kTruncated); }

  bool stopped() const { return stopped_; }  // At a container's header.

 private:
  bool Set(Type type, uint64_t value) {
    t_->type = type;
    t_->value = value;
    return true;
  }
  bool Stop(Type type, uint64_t count) {
    Set(type, count);
    stopped_ = true;
    return false;
  }
  bool Bytes(Type type, const char* p, uint32_t n) {
    t_->type = type;
    t_->data = p;
    t_->size = n;
    return true;
  }
  void Invalid(Error error) {
    t_->type = Type::kInvalid;
    t_->error = error;
  }

  Token* t_;
  bool stopped_ = false;
};

}  // namespace

std::string_view ErrorName(Error error) {
  switch (error) {
    case Error::kNone:
      return "ok";
    case Error::kTruncated:
      return "truncated";
    case Error::kMalformed:
      return "malformed";
    case Error::kWrongType:
      return "wrong type";
    case Error::kLimit:
      return "over a limit";
  }
  return "unknown";
}

const Reader::Token& Reader::Next() {
  if (have_token_) return token_;
  token_ = Token();
  have_token_ = true;
  if (failed()) {
    token_.error = error_;
  } else if (pos_ == in_.size()) {
    token_.error = Error::kTruncated;
  } else if (!DecodeCommonForm(in_, pos_, &token_)) {
    ParseWithMsgpackC();
  }
  return token_;
}

// The forms the codecs write for nearly every value, decoded here: per
// token this is several times cheaper than a call into msgpack::parse, and
// it kept change decoding within a few percent of the hand-written reader
// msgpack-c replaced (docs/protocol.md, "msgpack implementation", has the
// figures). Everything else, including every malformed or truncated form,
// goes to msgpack-c; wire_test checks both paths against msgpack::unpack.
// REQUIRES: pos < in.size(); *t is a default Token.
[[gnu::always_inline]] inline bool Reader::DecodeCommonForm(std::string_view in, size_t pos,
                                                            Token* t) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data()) + pos;
  const size_t left = in.size() - pos;
  const uint8_t b = p[0];
  size_t size = 1;
  if (b <= 0x7F) {  // positive fixint
    t->type = Type::kInt;
    t->value = b;
  } else if (b >= 0xE0) {  // negative fixint
    t->type = Type::kInt;
    t->negative = true;
    t->value = static_cast<uint64_t>(int64_t{static_cast<int8_t>(b)});
  } else if (b <= 0x9F) {  // fixmap, fixarray
    t->type = b <= 0x8F ? Type::kMap : Type::kArray;
    t->value = b & 0x0F;
  } else if (b <= 0xBF) {  // fixstr
    const size_t n = b & 0x1F;
    if (left < 1 + n) return false;
    t->type = Type::kStr;
    t->data = in.data() + pos + 1;
    t->size = static_cast<uint32_t>(n);
    size += n;
  } else if (b == 0xC0) {
    t->type = Type::kNil;
  } else if (b == 0xC2 || b == 0xC3) {
    t->type = Type::kBool;
    t->value = b == 0xC3;
  } else if (b >= 0xCC && b <= 0xD3) {  // uint 8/16/32/64, int 8/16/32/64
    const size_t width = size_t{1} << ((b - 0xCC) & 3);
    if (left < 1 + width) return false;
    uint64_t v = 0;
    for (size_t k = 1; k <= width; ++k) v = (v << 8) | p[k];
    if (b >= 0xD0 && width < 8) {  // Sign-extend.
      const unsigned shift = static_cast<unsigned>(64 - 8 * width);
      v = static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
    }
    t->type = Type::kInt;
    t->negative = b >= 0xD0 && static_cast<int64_t>(v) < 0;
    t->value = v;
    size += width;
  } else {
    return false;
  }
  t->end = pos + size;
  return true;
}

void Reader::ParseWithMsgpackC() {
  TokenVisitor<Token> visitor(&token_);
  size_t off = pos_;
  try {
    msgpack::parse(in_.data(), in_.size(), off, visitor);
  } catch (const std::exception&) {  // Documented for ext sizes a 32-bit size_t cannot hold.
    token_.type = Type::kInvalid;
    token_.error = Error::kMalformed;
  }
  if (token_.type == Type::kInvalid && token_.error == Error::kNone) {
    token_.error = Error::kMalformed;
  }
  token_.end = visitor.stopped() ? off + 1 : off;
}

bool Reader::Fail(Error error) {
  if (error_ == Error::kNone) error_ = error;
  have_token_ = false;
  return false;
}

Type Reader::Peek() {
  const Token& t = Next();
  if (t.type == Type::kInvalid) Fail(t.error);  // Nothing past an unreadable value can be read.
  return token_.type;
}

// The typed reads take their value through here. The fast path decodes a
// common form straight into the caller's local Token, which the compiler
// keeps in registers; anything else goes through Next().
[[gnu::always_inline]] inline bool Reader::Take(Type type, Token* t) {
  if (have_token_ || failed() || pos_ == in_.size() || !DecodeCommonForm(in_, pos_, t)) {
    const Token& next = Next();
    if (next.type == Type::kInvalid) return Fail(next.error);
    *t = next;
  }
  if (t->type != type) return Fail(Error::kWrongType);
  assert(t->end > pos_ && t->end <= in_.size());
  pos_ = t->end;
  have_token_ = false;
  return true;
}

bool Reader::TakeContainer(Type type, uint64_t min_bytes_each, uint32_t* n) {
  Token t;
  if (!Take(type, &t)) return false;
  // Each element takes at least one byte: a larger count is a lie. (The
  // count is below 2^32, so the product cannot overflow.)
  if (t.value * min_bytes_each > remaining()) return Fail(Error::kTruncated);
  if (t.value > limits_.max_elements) return Fail(Error::kLimit);
  *n = static_cast<uint32_t>(t.value);
  return true;
}

bool Reader::ArrayHeader(uint32_t* n) { return TakeContainer(Type::kArray, 1, n); }
bool Reader::MapHeader(uint32_t* n) { return TakeContainer(Type::kMap, 2, n); }

bool Reader::Int(int64_t* v) {
  Token t;
  if (!Take(Type::kInt, &t)) return false;
  if (!t.negative && t.value > static_cast<uint64_t>(INT64_MAX)) return Fail(Error::kWrongType);
  *v = static_cast<int64_t>(t.value);
  return true;
}

bool Reader::Uint(uint64_t* v) {
  Token t;
  if (!Take(Type::kInt, &t)) return false;
  if (t.negative) return Fail(Error::kWrongType);
  *v = t.value;
  return true;
}

bool Reader::TakeBytes(Type type, std::string_view* s) {
  Token t;
  if (!Take(type, &t)) return false;
  if (t.size > limits_.max_bytes) return Fail(Error::kLimit);
  *s = std::string_view(t.data, t.size);
  return true;
}

bool Reader::Str(std::string_view* s) { return TakeBytes(Type::kStr, s); }
bool Reader::Bin(std::string_view* s) { return TakeBytes(Type::kBin, s); }

bool Reader::Nil() {
  Token t;
  return Take(Type::kNil, &t);
}

bool Reader::TryNil() {
  if (!have_token_ && !failed() && pos_ < in_.size()) {
    Token t;
    if (DecodeCommonForm(in_, pos_, &t)) {
      if (t.type == Type::kNil) {
        pos_ = t.end;
        return true;
      }
      token_ = t;  // Kept for the read that follows.
      have_token_ = true;
      return false;
    }
  }
  return Peek() == Type::kNil && Nil();
}

bool Reader::Bool(bool* v) {
  Token t;
  if (!Take(Type::kBool, &t)) return false;
  *v = t.value != 0;
  return true;
}

bool Reader::Skip(std::string_view* bytes) {
  const size_t start = pos_;
  // Values still to skip at each open level; level 0 is the value itself.
  // Limits::max_depth is clamped to the array, so the walk allocates nothing.
  std::array<uint64_t, 64> left;
  const uint32_t max_depth = std::min<uint32_t>(limits_.max_depth, left.size());
  if (max_depth == 0) return Fail(Error::kLimit);
  size_t depth = 1;
  left[0] = 1;
  while (depth > 0) {
    if (left[depth - 1] == 0) {
      --depth;
      continue;
    }
    --left[depth - 1];
    const Token& t = Next();
    if (t.type == Type::kInvalid) return Fail(t.error);
    uint32_t n = 0;
    if (t.type == Type::kArray || t.type == Type::kMap) {
      const bool map = t.type == Type::kMap;
      if (!TakeContainer(t.type, map ? 2 : 1, &n)) return false;
      if (n > 0 && depth == max_depth) return Fail(Error::kLimit);
      if (n > 0) left[depth++] = map ? 2 * uint64_t{n} : n;
      continue;
    }
    if ((t.type == Type::kStr || t.type == Type::kBin || t.type == Type::kExt) &&
        t.size > limits_.max_bytes) {
      return Fail(Error::kLimit);
    }
    assert(t.end > pos_ && t.end <= in_.size());
    pos_ = t.end;
    have_token_ = false;
  }
  if (bytes != nullptr) *bytes = in_.substr(start, pos_ - start);
  return true;
}

}  // namespace quire::wire
