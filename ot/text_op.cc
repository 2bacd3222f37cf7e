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
  components_.push_back(Component::Retain(pending_retain_));
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
  if (!components_.empty()) {
    Component* last = &components_.back();
    if (last->kind == Kind::kDelete) {
      // Canonical order: where an insert meets a delete, the insert comes
      // first (both orders give the same text).
      const size_t n = components_.size();
      if (n >= 2 && components_[n - 2].kind == Kind::kInsert) {
        last = &components_[n - 2];
      } else {
        components_.insert(components_.end() - 1,
                           Component{Kind::kInsert, code_points, std::string(utf8)});
        return *this;
      }
    }
    if (last->kind == Kind::kInsert) {
      last->text.append(utf8);
      last->count += code_points;
      return *this;
    }
  }
  components_.push_back(Component{Kind::kInsert, code_points, std::string(utf8)});
  return *this;
}

TextOp& TextOp::Delete(size_t n) {
  if (n == 0) return *this;
  FlushRetain();
  if (!components_.empty() && components_.back().kind == Kind::kDelete) {
    components_.back().count += n;
  } else {
    components_.push_back(Component::Delete(n));
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

void Transform(const TextOp& a, const TextOp& b, Side side, TextOp* out_op) {
  TextOp& out = *out_op;
  out.components_.clear();
  out.pending_retain_ = 0;
  Cursor ca(a.components());
  Cursor cb(b.components());
  while (!ca.done()) {
    // Inserts first. On a tie (both insert here) the left side goes first.
    if (ca.kind() == Kind::kInsert && (side == Side::kLeft || cb.kind() != Kind::kInsert)) {
      const size_t n = ca.remaining();
      out.Insert(ca.TakeText(n), n);
      continue;
    }
    if (cb.kind() == Kind::kInsert) {
      const size_t n = cb.remaining();
      out.Retain(n);  // Keep b's inserted text.
      cb.Skip(n);
      continue;
    }
    const size_t n = std::min(ca.remaining(), cb.remaining());
    if (cb.kind() == Kind::kRetain) {
      if (ca.kind() == Kind::kRetain) {
        out.Retain(n);
      } else {
        out.Delete(n);
      }
    }
    // Where b deleted, the text a retained or deleted is gone already.
    ca.Skip(n);
    cb.Skip(n);
  }
}

TextOp Compose(const TextOp& a, const TextOp& b) {
  TextOp out;
  Cursor ca(a.components());
  Cursor cb(b.components());
  while (!(ca.done() && cb.done())) {
    // a's deletes happen before b sees the text.
    if (ca.kind() == Kind::kDelete) {
      out.Delete(ca.remaining());
      ca.Skip(ca.remaining());
      continue;
    }
    if (cb.kind() == Kind::kInsert) {
      const size_t n = cb.remaining();
      out.Insert(cb.TakeText(n), n);
      continue;
    }
    const size_t n = std::min(ca.remaining(), cb.remaining());
    if (ca.kind() == Kind::kRetain) {
      // cb is a retain or a delete here, and at most one of the two is the
      // endless tail (the loop ends when both are), so n is finite.
      if (cb.kind() == Kind::kRetain) {
        out.Retain(n);
      } else {
        out.Delete(n);
      }
    } else if (cb.kind() == Kind::kRetain) {  // a inserts, b keeps it.
      out.Insert(ca.TakeText(n), n);
      cb.Skip(n);
      continue;
    }
    // a inserts and b deletes it: nothing remains.
    ca.Skip(n);
    cb.Skip(n);
  }
  return out;
}

TextOp ComposeAll(std::span<const TextOp> ops) {
  if (ops.empty()) return TextOp();
  if (ops.size() == 1) return ops[0];
  const size_t mid = ops.size() / 2;
  return Compose(ComposeAll(ops.first(mid)), ComposeAll(ops.subspan(mid)));
}

TextOp Rebase(TextOp op, std::span<const TextOp> history, Side side) {
  TextOp scratch;
  for (const TextOp& h : history) {
    Transform(op, h, side, &scratch);
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

size_t TransformPosition(size_t pos, const TextOp& op, Stick stick) {
  size_t base = 0;  // Code points of the old document walked so far.
  size_t out = pos;
  for (const Component& c : op.components()) {
    if (base > pos) break;
    switch (c.kind) {
      case Kind::kRetain:
        base += c.count;
        break;
      case Kind::kInsert:
        if (base < pos || stick == Stick::kAfter) out += c.count;
        break;
      case Kind::kDelete:
        out -= std::min(c.count, pos - base);
        base += c.count;
        break;
    }
  }
  return out;
}

}  // namespace quire::ot
