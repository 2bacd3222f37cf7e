#include "ot/text_op.h"

#include <algorithm>
#include <limits>

#include "base/utf8.h"

namespace quire::ot {
namespace {

using Kind = Component::Kind;
constexpr size_t kInfinite = std::numeric_limits<size_t>::max();

// Walks an op's components, consuming them partially. Past the end it
// reads as an endless retain, which is what the implicit tail means.
class Cursor {
 public:
  explicit Cursor(const std::vector<Component>& components) : c_(components) {}

  bool done() const { return i_ == c_.size(); }
  Kind kind() const { return done() ? Kind::kRetain : c_[i_].kind; }
  size_t remaining() const { return done() ? kInfinite : c_[i_].count - off_; }

  // Consumes n code points of the current component. REQUIRES: n <= remaining().
  void Skip(size_t n) {
    if (done()) return;
    off_ += n;
    if (off_ == c_[i_].count) {
      Next();
    } else if (c_[i_].kind == Kind::kInsert) {
      utf8::Advance(c_[i_].text, &bytes_, n);
    }
  }

  // Consumes and returns the next n code points of the current insert.
  // REQUIRES: kind() == kInsert, n <= remaining().
  std::string_view TakeText(size_t n) {
    const std::string_view text = c_[i_].text;
    const size_t start = bytes_;
    size_t end = text.size();
    if (n != remaining()) {
      end = start;
      utf8::Advance(text, &end, n);
    }
    Skip(n);
    return text.substr(start, end - start);
  }

 private:
  void Next() {
    ++i_;
    off_ = 0;
    bytes_ = 0;
  }

  const std::vector<Component>& c_;
  size_t i_ = 0;
  size_t off_ = 0;    // Code points consumed of component i_.
  size_t bytes_ = 0;  // Bytes consumed of component i_'s text.
};

// Appends what is left of the op under `c` to `out`, as it is.
void AppendRest(Cursor& c, TextOp& out) {
  while (!c.done()) {
    const size_t n = c.remaining();
    switch (c.kind()) {
      case Kind::kRetain: out.Retain(n); c.Skip(n); break;
      case Kind::kDelete: out.Delete(n); c.Skip(n); break;
      case Kind::kInsert: out.Insert(c.TakeText(n), n); break;
    }
  }
}

}  // namespace

Component Component::Insert(std::string_view utf8) {
  return {Kind::kInsert, utf8::CountCodePoints(utf8), std::string(utf8)};
}

Result<TextOp> TextOp::FromComponents(std::vector<Component> components) {
  TextOp op;
  size_t base = 0;
  size_t inserted = 0;
  for (size_t i = 0; i < components.size(); ++i) {
    Component& c = components[i];
    const std::string where = "component " + std::to_string(i);
    switch (c.kind) {
      case Kind::kRetain:
      case Kind::kDelete:
        if (c.count == 0) return InvalidArgument(where + " has length 0");
        if (c.count > kMaxLength || base + c.count > kMaxLength) {
          return InvalidArgument(where + " makes the op longer than the limit");
        }
        base += c.count;
        if (c.kind == Kind::kRetain) {
          op.Retain(c.count);
        } else {
          op.Delete(c.count);
        }
        break;
      case Kind::kInsert: {
        if (c.text.empty()) return InvalidArgument(where + " inserts empty text");
        Result<size_t> n = utf8::Validate(c.text);
        if (!n.ok()) return InvalidArgument(where + ": " + n.status().message());
        if (c.count != 0 && c.count != *n) {
          return InvalidArgument(where + " states a length that differs from its text");
        }
        if (*n > kMaxLength || inserted + *n > kMaxLength) {
          return InvalidArgument(where + " inserts more than the limit");
        }
        inserted += *n;
        op.Insert(c.text, *n);
        break;
      }
      default:
        return InvalidArgument(where + " has an unknown kind");
    }
  }
  return op;
}

void TextOp::FlushRetain() {
  if (pending_retain_ == 0) return;
  Component& c = components_.emplace_back();  // In place: no string to move.
  c.kind = Kind::kRetain;
  c.count = pending_retain_;
  pending_retain_ = 0;
}

TextOp& TextOp::Retain(size_t n) {
  pending_retain_ += n;
  return *this;
}

TextOp& TextOp::Insert(std::string_view utf8) {
  return Insert(utf8, utf8::CountCodePoints(utf8));
}

TextOp& TextOp::Insert(std::string_view utf8, size_t code_points) {
  if (code_points == 0) return *this;
  FlushRetain();
  if (!components_.empty() && components_.back().kind == Kind::kInsert) {
    components_.back().text.append(utf8);
    components_.back().count += code_points;
  } else {
    Component& c = components_.emplace_back();
    c.kind = Kind::kInsert;
    c.count = code_points;
    c.text.append(utf8);  // Into the new, empty string.
  }
  return *this;
}

TextOp& TextOp::Delete(size_t n) {
  if (n == 0) return *this;
  FlushRetain();
  if (!components_.empty() && components_.back().kind == Kind::kDelete) {
    components_.back().count += n;
  } else {
    Component& c = components_.emplace_back();
    c.kind = Kind::kDelete;
    c.count = n;
  }
  return *this;
}

size_t TextOp::BaseLength() const {
  size_t n = 0;
  for (const Component& c : components_) n += c.kind == Kind::kInsert ? 0 : c.count;
  return n;
}

size_t TextOp::InsertedLength() const {
  size_t n = 0;
  for (const Component& c : components_) n += c.kind == Kind::kInsert ? c.count : 0;
  return n;
}

size_t TextOp::DeletedLength() const {
  size_t n = 0;
  for (const Component& c : components_) n += c.kind == Kind::kDelete ? c.count : 0;
  return n;
}

std::string TextOp::ToJson() const {
  std::string out = "[";
  for (const Component& c : components_) {
    if (out.size() > 1) out += ",";
    switch (c.kind) {
      case Kind::kRetain: out += std::to_string(c.count); break;
      case Kind::kDelete: out += "{\"d\":" + std::to_string(c.count) + "}"; break;
      case Kind::kInsert:
        out += '"';
        for (char ch : c.text) {
          const auto u = static_cast<unsigned char>(ch);
          if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
          } else if (ch == '\n') {
            out += "\\n";
          } else if (ch == '\t') {
            out += "\\t";
          } else if (ch == '\r') {
            out += "\\r";
          } else if (ch == '\b') {
            out += "\\b";
          } else if (ch == '\f') {
            out += "\\f";
          } else if (u < 0x20) {
            static const char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[u >> 4];
            out += kHex[u & 15];
          } else {
            out += ch;
          }
        }
        out += '"';
        break;
    }
  }
  return out + "]";
}

std::ostream& operator<<(std::ostream& os, const TextOp& op) { return os << op.ToJson(); }

Result<std::string> Apply(std::string_view text, const TextOp& op) {
  std::string out;
  out.reserve(text.size() + op.InsertedLength() * 2);
  size_t pos = 0;  // Byte offset into text.
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Kind::kRetain: {
        const size_t start = pos;
        if (!utf8::Advance(text, &pos, c.count)) {
          return OutOfRange("op retains past the end of the text");
        }
        out.append(text.substr(start, pos - start));
        break;
      }
      case Kind::kInsert:
        out.append(c.text);
        break;
      case Kind::kDelete:
        if (!utf8::Advance(text, &pos, c.count)) {
          return OutOfRange("op deletes past the end of the text");
        }
        break;
    }
  }
  out.append(text.substr(pos));
  return out;
}

TextOp Transform(const TextOp& a, const TextOp& b, Side side) {
  TextOp out;
  Transform(a, b, side, &out);
  return out;
}

// ot-text-unicode's transform, step for step: it walks b's components and
// takes from a as each needs, and the order of the output's components
// (which TransformPosition and later transforms see) depends on exactly
// when a's inserts are taken. An insert of a is taken whole as soon as it
// is met while b retains or deletes, or on a tie when a is kLeft; one met
// just as b's retain or delete ends waits for b's next component.
void Transform(const TextOp& a, const TextOp& b, Side side, TextOp* out_op) {
  TextOp& out = *out_op;
  out.components_.clear();
  out.pending_retain_ = 0;
  Cursor ca(a.components());
  auto take_insert = [&ca, &out] {
    const size_t n = ca.remaining();
    out.Insert(ca.TakeText(n), n);
  };
  for (const Component& cb : b.components()) {
    if (cb.kind == Kind::kInsert) {
      // A tie: kLeft puts a's insert (if it has one here) first.
      if (side == Side::kLeft && ca.kind() == Kind::kInsert) take_insert();
      out.Retain(cb.count);  // Keep b's inserted text.
      continue;
    }
    // b retains or deletes n code points of the old text.
    size_t n = cb.count;
    while (n > 0) {
      if (ca.kind() == Kind::kInsert) {
        take_insert();
        continue;
      }
      const size_t k = std::min(n, ca.remaining());
      if (cb.kind == Kind::kRetain) {
        if (ca.kind() == Kind::kRetain) {
          out.Retain(k);
        } else {
          out.Delete(k);
        }
      }  // Where b deleted, the text a retained or deleted is gone already.
      ca.Skip(k);
      n -= k;
    }
  }
  AppendRest(ca, out);  // The rest of a, past the end of b.
}

void TransformX(TextOp* local, TextOp* remote) {
  TextOp local2 = Transform(*local, *remote, Side::kLeft);
  *remote = Transform(*remote, *local, Side::kRight);
  *local = std::move(local2);
}

// ot-text-unicode's compose, step for step: it walks b's components and
// takes from a as each needs. b's inserts are emitted when met, so they go
// before a delete of a at the same place unless b's retain or delete has
// already passed over that delete; a's deletes are taken whole.
TextOp Compose(const TextOp& a, const TextOp& b) {
  TextOp out;
  Cursor ca(a.components());
  for (const Component& cb : b.components()) {
    if (cb.kind == Kind::kInsert) {
      out.Insert(cb.text, cb.count);
      continue;
    }
    // b retains or deletes n code points of a's result.
    size_t n = cb.count;
    while (n > 0) {
      if (ca.kind() == Kind::kDelete) {  // a's deletes happen before b sees the text.
        out.Delete(ca.remaining());
        ca.Skip(ca.remaining());
        continue;
      }
      const size_t k = std::min(n, ca.remaining());
      if (ca.kind() == Kind::kRetain) {
        if (cb.kind == Kind::kRetain) {
          out.Retain(k);
        } else {
          out.Delete(k);
        }
        ca.Skip(k);
      } else if (cb.kind == Kind::kRetain) {  // a inserts, b keeps it.
        out.Insert(ca.TakeText(k), k);
      } else {  // a inserts and b deletes it: nothing remains.
        ca.Skip(k);
      }
      n -= k;
    }
  }
  AppendRest(ca, out);  // The rest of a, past the end of b.
  return out;
}

TextOp ComposeAll(std::span<const TextOp> ops) {
  if (ops.empty()) return TextOp();
  if (ops.size() == 1) return ops[0];
  const size_t mid = ops.size() / 2;
  return Compose(ComposeAll(ops.first(mid)), ComposeAll(ops.subspan(mid)));
}

TextOp Rebase(TextOp op, std::span<const TextOp> history) {
  TextOp scratch;
  for (const TextOp& h : history) {
    Transform(op, h, Side::kLeft, &scratch);
    std::swap(op, scratch);
  }
  return op;
}

Result<TextOp> Invert(const TextOp& op, std::string_view text) {
  TextOp out;
  size_t pos = 0;
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Kind::kRetain:
        if (!utf8::Advance(text, &pos, c.count)) {
          return OutOfRange("op retains past the end of the text");
        }
        out.Retain(c.count);
        break;
      case Kind::kInsert:
        out.Delete(c.count);
        break;
      case Kind::kDelete: {
        const size_t start = pos;
        if (!utf8::Advance(text, &pos, c.count)) {
          return OutOfRange("op deletes past the end of the text");
        }
        out.Insert(text.substr(start, pos - start), c.count);
        break;
      }
    }
  }
  return out;
}

// ot-text-unicode's transformPosition: `pos` and `at` both count code
// points of the new document as the walk goes, and the walk stops as soon
// as it passes the caret (kBefore: reaches it), so what follows a caret
// never moves it. A delete does not advance `at`: the deleted text is gone.
size_t TransformPosition(size_t pos, const TextOp& op, Stick stick) {
  size_t at = 0;
  for (const Component& c : op.components()) {
    if (pos < at || (pos == at && stick == Stick::kBefore)) break;
    switch (c.kind) {
      case Kind::kRetain:
        at += c.count;
        break;
      case Kind::kInsert:
        at += c.count;
        pos += c.count;
        break;
      case Kind::kDelete:
        pos -= std::min(c.count, pos - at);
        break;
    }
  }
  return pos;
}

}  // namespace quire::ot
