#include "base/msgpack.h"

#include <limits>

namespace quire::msgpack {

void Writer::Big(uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) Byte(static_cast<uint8_t>(v >> (8 * i)));
}

void Writer::ArrayHeader(uint32_t n) {
  if (n < 16) return Byte(0x90 | n);
  if (n <= 0xFFFF) return Byte(0xDC), Big(n, 2);
  Byte(0xDD), Big(n, 4);
}

void Writer::MapHeader(uint32_t n) {
  if (n < 16) return Byte(0x80 | n);
  if (n <= 0xFFFF) return Byte(0xDE), Big(n, 2);
  Byte(0xDF), Big(n, 4);
}

void Writer::Uint(uint64_t v) {
  if (v < 0x80) return Byte(static_cast<uint8_t>(v));
  if (v <= 0xFF) return Byte(0xCC), Big(v, 1);
  if (v <= 0xFFFF) return Byte(0xCD), Big(v, 2);
  if (v <= 0xFFFFFFFF) return Byte(0xCE), Big(v, 4);
  Byte(0xCF), Big(v, 8);
}

void Writer::Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  if (v >= -32) return Byte(static_cast<uint8_t>(v));
  const auto u = static_cast<uint64_t>(v);
  if (v >= std::numeric_limits<int8_t>::min()) return Byte(0xD0), Big(u, 1);
  if (v >= std::numeric_limits<int16_t>::min()) return Byte(0xD1), Big(u, 2);
  if (v >= std::numeric_limits<int32_t>::min()) return Byte(0xD2), Big(u, 4);
  Byte(0xD3), Big(u, 8);
}

void Writer::Str(std::string_view s) {
  const size_t n = s.size();
  if (n < 32) {
    Byte(static_cast<uint8_t>(0xA0 | n));
  } else if (n <= 0xFF) {
    Byte(0xD9), Big(n, 1);
  } else if (n <= 0xFFFF) {
    Byte(0xDA), Big(n, 2);
  } else {
    Byte(0xDB), Big(n, 4);
  }
  out_->append(s);
}

void Writer::Bin(std::string_view s) {
  const size_t n = s.size();
  if (n <= 0xFF) {
    Byte(0xC4), Big(n, 1);
  } else if (n <= 0xFFFF) {
    Byte(0xC5), Big(n, 2);
  } else {
    Byte(0xC6), Big(n, 4);
  }
  out_->append(s);
}

void Writer::Nil() { Byte(0xC0); }
void Writer::Bool(bool v) { Byte(v ? 0xC3 : 0xC2); }

Type Reader::Peek() const {
  if (failed_ || pos_ >= in_.size()) return Type::kInvalid;
  const auto b = static_cast<uint8_t>(in_[pos_]);
  if (b <= 0x7F || b >= 0xE0) return Type::kInt;
  if (b <= 0x8F) return Type::kMap;
  if (b <= 0x9F) return Type::kArray;
  if (b <= 0xBF) return Type::kStr;
  switch (b) {
    case 0xC0: return Type::kNil;
    case 0xC2: case 0xC3: return Type::kBool;
    case 0xC4: case 0xC5: case 0xC6: return Type::kBin;
    case 0xC7: case 0xC8: case 0xC9: return Type::kExt;
    case 0xCA: case 0xCB: return Type::kFloat;
    case 0xCC: case 0xCD: case 0xCE: case 0xCF:
    case 0xD0: case 0xD1: case 0xD2: case 0xD3: return Type::kInt;
    case 0xD4: case 0xD5: case 0xD6: case 0xD7: case 0xD8: return Type::kExt;
    case 0xD9: case 0xDA: case 0xDB: return Type::kStr;
    case 0xDC: case 0xDD: return Type::kArray;
    case 0xDE: case 0xDF: return Type::kMap;
    default: return Type::kInvalid;  // 0xC1 is reserved.
  }
}

bool Reader::Take(size_t n, const uint8_t** p) {
  if (failed_ || in_.size() - pos_ < n) return Fail();
  *p = reinterpret_cast<const uint8_t*>(in_.data()) + pos_;
  pos_ += n;
  return true;
}

bool Reader::BigEndian(int bytes, uint64_t* v) {
  const uint8_t* p;
  if (!Take(bytes, &p)) return false;
  uint64_t x = 0;
  for (int i = 0; i < bytes; ++i) x = (x << 8) | p[i];
  *v = x;
  return true;
}

bool Reader::Container(uint8_t fix_base, uint8_t tag16, uint8_t tag32, uint32_t* n,
                       size_t min_bytes_each) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  uint64_t len;
  if ((*p & 0xF0) == fix_base) {
    len = *p & 0x0F;
  } else if (*p == tag16) {
    if (!BigEndian(2, &len)) return false;
  } else if (*p == tag32) {
    if (!BigEndian(4, &len)) return false;
  } else {
    return Fail();
  }
  // Every element takes at least one byte: a larger count is a lie.
  if (len > remaining() / min_bytes_each) return Fail();
  *n = static_cast<uint32_t>(len);
  return true;
}

bool Reader::ArrayHeader(uint32_t* n) { return Container(0x90, 0xDC, 0xDD, n, 1); }
bool Reader::MapHeader(uint32_t* n) { return Container(0x80, 0xDE, 0xDF, n, 2); }

bool Reader::Int(int64_t* v) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  const uint8_t b = *p;
  uint64_t x;
  if (b <= 0x7F) { *v = b; return true; }
  if (b >= 0xE0) { *v = static_cast<int8_t>(b); return true; }
  switch (b) {
    case 0xCC: case 0xCD: case 0xCE: case 0xCF: {
      if (!BigEndian(1 << (b - 0xCC), &x)) return false;
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Fail();
      *v = static_cast<int64_t>(x);
      return true;
    }
    case 0xD0: if (!BigEndian(1, &x)) return false; *v = static_cast<int8_t>(x); return true;
    case 0xD1: if (!BigEndian(2, &x)) return false; *v = static_cast<int16_t>(x); return true;
    case 0xD2: if (!BigEndian(4, &x)) return false; *v = static_cast<int32_t>(x); return true;
    case 0xD3: if (!BigEndian(8, &x)) return false; *v = static_cast<int64_t>(x); return true;
    default: return Fail();
  }
}

bool Reader::Uint(uint64_t* v) {
  if (failed_ || pos_ >= in_.size()) return Fail();
  const auto b = static_cast<uint8_t>(in_[pos_]);
  if (b >= 0xCC && b <= 0xCF) {
    ++pos_;
    return BigEndian(1 << (b - 0xCC), v);
  }
  int64_t s;
  if (!Int(&s)) return false;
  if (s < 0) return Fail();
  *v = static_cast<uint64_t>(s);
  return true;
}

bool Reader::Length(uint8_t tag, uint8_t fix_mask, uint8_t fix_base, uint8_t tag8,
                    uint8_t tag16, uint8_t tag32, uint32_t* n) {
  uint64_t len;
  if (fix_mask != 0 && (tag & fix_mask) == fix_base) {
    len = tag & static_cast<uint8_t>(~fix_mask);
  } else if (tag == tag8) {
    if (!BigEndian(1, &len)) return false;
  } else if (tag == tag16) {
    if (!BigEndian(2, &len)) return false;
  } else if (tag == tag32) {
    if (!BigEndian(4, &len)) return false;
  } else {
    return Fail();
  }
  if (len > remaining()) return Fail();
  *n = static_cast<uint32_t>(len);
  return true;
}

bool Reader::Str(std::string_view* s) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  uint32_t n;
  if (!Length(*p, 0xE0, 0xA0, 0xD9, 0xDA, 0xDB, &n)) return false;
  *s = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool Reader::Bin(std::string_view* s) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  uint32_t n;
  if (!Length(*p, 0, 0, 0xC4, 0xC5, 0xC6, &n)) return false;
  *s = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool Reader::Nil() {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  return *p == 0xC0 ? true : Fail();
}

bool Reader::Bool(bool* v) {
  const uint8_t* p;
  if (!Take(1, &p)) return false;
  if (*p != 0xC2 && *p != 0xC3) return Fail();
  *v = *p == 0xC3;
  return true;
}

bool Reader::Skip(int max_depth) {
  if (max_depth <= 0) return Fail();
  std::string_view s;
  uint32_t n;
  switch (Peek()) {
    case Type::kNil: return Nil();
    case Type::kBool: { bool b; return Bool(&b); }
    case Type::kInt: {
      const auto b = static_cast<uint8_t>(in_[pos_]);
      uint64_t u;
      int64_t i;
      return (b >= 0xCC && b <= 0xCF) ? Uint(&u) : Int(&i);
    }
    case Type::kFloat: {
      const auto b = static_cast<uint8_t>(in_[pos_]);
      const uint8_t* p;
      return Take(1, &p) && Take(b == 0xCA ? 4 : 8, &p);
    }
    case Type::kStr: return Str(&s);
    case Type::kBin: return Bin(&s);
    case Type::kArray:
      if (!ArrayHeader(&n)) return false;
      for (uint32_t i = 0; i < n; ++i) if (!Skip(max_depth - 1)) return false;
      return true;
    case Type::kMap:
      if (!MapHeader(&n)) return false;
      for (uint32_t i = 0; i < 2 * n; ++i) if (!Skip(max_depth - 1)) return false;
      return true;
    case Type::kExt: {
      const auto b = static_cast<uint8_t>(in_[pos_]);
      const uint8_t* p;
      if (!Take(1, &p)) return false;
      uint64_t len;
      if (b >= 0xD4 && b <= 0xD8) {
        len = size_t{1} << (b - 0xD4);
      } else if (!BigEndian(b == 0xC7 ? 1 : b == 0xC8 ? 2 : 4, &len)) {
        return false;
      }
      return Take(1, &p) && len <= remaining() && Take(len, &p);
    }
    case Type::kInvalid: return Fail();
  }
  return Fail();
}

}  // namespace quire::msgpack
