// Fuzzes the OT module two ways, chosen by the first byte:
// - even: the rest is wire bytes for DecodeOp, which must return an op or
//   an error; a decoded op must re-encode to an op equal to itself;
// - odd: the rest builds a document and two ops on it; TP1 (both sides),
//   ShareDB's conventions (the server's Rebase of a over b is the client's
//   TransformX, and both reach one text), compose, invert and the bounds
//   of TransformPosition must hold. A violation aborts. (Exact agreement
//   with ot-text-unicode is tests/ot/ot_diff.js's job: it needs Node.)
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/utf8.h"
#include "ot/codec.h"
#include "ot/text_op.h"

namespace {

using quire::ot::TextOp;

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t Next() { return empty() ? 0 : *p_++; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Characters of every UTF-8 size, picked by a byte.
char32_t CharFrom(uint8_t b) {
  static constexpr char32_t kChars[] = {U'a', U'b', U'c', U'\u00e9', U'\u0436', U'\u4e2d',
                                        U'\u20ac', U'\U0001F600', U'\U0001D11E', U'\n'};
  return kChars[b % (sizeof(kChars) / sizeof(kChars[0]))];
}

TextOp OpFrom(Bytes& in, size_t len) {
  TextOp op;
  size_t pos = 0;
  const int steps = in.Next() % 6;
  for (int s = 0; s < steps; ++s) {
    const uint8_t b = in.Next();
    const size_t n = 1 + (b >> 3) % 8;
    switch (b % 3) {
      case 0: {
        const size_t k = std::min(n, len - pos);
        op.Retain(k);
        pos += k;
        break;
      }
      case 1: {
        std::string text;
        for (size_t i = 0; i < n; ++i) quire::utf8::Append(text, CharFrom(in.Next()));
        op.Insert(text);
        break;
      }
      default: {
        const size_t k = std::min(n, len - pos);
        op.Delete(k);
        pos += k;
      }
    }
  }
  return op;
}

std::string MustApply(const std::string& text, const TextOp& op) {
  auto r = quire::ot::Apply(text, op);
  if (!r.ok()) std::abort();
  return *r;
}

void CheckLaws(Bytes& in) {
  std::string doc;
  const size_t len = in.Next() % 24;
  for (size_t i = 0; i < len; ++i) quire::utf8::Append(doc, CharFrom(in.Next()));
  const TextOp a = OpFrom(in, len);
  const TextOp b = OpFrom(in, len);
  const std::string sa = MustApply(doc, a);
  const std::string sb = MustApply(doc, b);
  using quire::ot::Side;
  if (MustApply(sb, Transform(a, b, Side::kLeft)) != MustApply(sa, Transform(b, a, Side::kRight)))
    std::abort();
  if (MustApply(sb, Transform(a, b, Side::kRight)) != MustApply(sa, Transform(b, a, Side::kLeft)))
    std::abort();
  TextOp local = a;
  TextOp remote = b;
  quire::ot::TransformX(&local, &remote);
  if (!(quire::ot::Rebase(a, {&b, 1}) == local)) std::abort();
  if (MustApply(sb, local) != MustApply(sa, remote)) std::abort();
  const TextOp b2 = Transform(b, a, Side::kRight);
  if (MustApply(doc, Compose(a, b2)) != MustApply(sa, b2)) std::abort();
  const TextOp c = OpFrom(in, quire::utf8::CountCodePoints(sa));
  if (MustApply(doc, Compose(a, c)) != MustApply(sa, c)) std::abort();
  auto inv = quire::ot::Invert(a, doc);
  if (!inv.ok() || MustApply(sa, *inv) != doc) std::abort();
  const size_t after = quire::utf8::CountCodePoints(sa);
  for (size_t p = 0; p <= len; ++p) {
    const size_t before_pos = TransformPosition(p, a, quire::ot::Stick::kBefore);
    const size_t after_pos = TransformPosition(p, a, quire::ot::Stick::kAfter);
    if (before_pos > after_pos || after_pos > after) std::abort();
  }
}

void CheckDecode(const uint8_t* data, size_t size) {
  auto op = quire::ot::DecodeOp(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!op.ok()) return;
  auto again = quire::ot::DecodeOp(quire::ot::EncodeOp(*op));
  if (!again.ok() || !(*again == *op)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    CheckDecode(data + 1, size - 1);
  } else {
    Bytes in(data + 1, size - 1);
    CheckLaws(in);
  }
  return 0;
}
