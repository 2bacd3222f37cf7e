// Benchmarks of the wire codecs (crdt/change_codec, ot/codec) on msgpack-c
// (base/wire.h) against a baseline in the same binary and iterations: the
// hand-written msgpack reader/writer that msgpack-c replaced, kept below,
// with the codecs' current logic on it, so the ratio is the msgpack layer's
// cost alone (docs/protocol.md, "msgpack implementation", has the figures).
//
//   BM_<Encode|Decode><Changes|Ops>/<workload>  each iteration runs both,
//   alternating which goes first; the benchmark's time is msgpack-c's, and
//   the counters say baseline_ms, msgpack_c_ms and ratio (msgpack-c time /
//   baseline time; above 1.0 is slower).
//
// Workloads: every keystroke's Change of the automerge-paper trace (as a
// peer receives them), the final document as one ChangesSince() change,
// and 10,000 keystroke-sized OT ops. Encoding writes into one reused buffer
// (a server's hot path); decoding returns the value. Inputs are made, and
// the two implementations are checked to write identical bytes and to
// decode to equal values, before timing starts.
//
// BM_DecodeOpBytes/<bytes> decodes one valid op of that many bytes: time per
// byte stays flat as the input grows (decoding is linear in its input).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/wire.h"
#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "ot/codec.h"
#include "ot/text_op.h"
#include "tools/replay.h"
#include "tools/trace.h"

namespace quire::bench {

// ---------------------------------------------------------------------------
// The baseline: the hand-written msgpack reader/writer that msgpack-c
// replaced (base/msgpack.h/.cc, git show 7abd260:base/msgpack.cc),
// verbatim apart from the namespace and the methods the codecs never call
// (Skip, Bin, MapHeader); then the two codecs on it.
// ---------------------------------------------------------------------------
namespace baseline {
namespace msgpack {
// clang-format off

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void ArrayHeader(uint32_t n);
  void Uint(uint64_t v);
  void Int(int64_t v);  // Uses the unsigned forms for v >= 0.
  void Str(std::string_view s);
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
  // Any integer form. Int() fails for values above INT64_MAX, Uint() for
  // negative values.
  bool Int(int64_t* v);
  bool Uint(uint64_t* v);
  // The string's bytes, pointing into the input (no copy).
  bool Str(std::string_view* s);
  bool Nil();
  bool Bool(bool* v);

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

void Writer::Big(uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) Byte(static_cast<uint8_t>(v >> (8 * i)));
}

void Writer::ArrayHeader(uint32_t n) {
  if (n < 16) return Byte(0x90 | n);
  if (n <= 0xFFFF) return Byte(0xDC), Big(n, 2);
  Byte(0xDD), Big(n, 4);
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

// clang-format on
}  // namespace msgpack

using crdt::AgentId;
using crdt::Change;
using crdt::Id;
using crdt::kMaxWireOps;
using crdt::kMaxWireParents;
using crdt::kRootAgent;
using crdt::Op;
using ot::Component;
using ot::kMaxLength;
using ot::kMaxWireComponents;
using ot::TextOp;

// The codecs, line for line as crdt/change_codec.cc and ot/codec.cc are
// now, on the old reader and writer: only the msgpack layer differs, so the
// ratio is that layer's cost. (Before the port the codecs also built a
// field-name string for every op while decoding, and reserved by the
// count an input claims; the port dropped both.)
constexpr uint32_t kReserveAtMost = 16;

Status Bad(const msgpack::Reader&, std::string message) {
  return InvalidArgument("change: " + std::move(message));
}

struct Field {
  const char* what;
  uint32_t index;
  const char* part;
  std::string Name() const { return what + (" " + std::to_string(index)) + part; }
};

void WriteId(const Id& id, msgpack::Writer& w) {
  if (id.IsRoot()) return w.Nil();
  w.ArrayHeader(2);
  w.Uint(id.agent.value);
  w.Uint(id.seq);
}

Status ReadId(msgpack::Reader& r, bool allow_root, const Field& field, Id* out) {
  if (allow_root && r.Peek() == msgpack::Type::kNil) {
    r.Nil();
    *out = Id::Root();
    return Status::Ok();
  }
  uint32_t n;
  uint64_t agent, seq;
  if (!r.ArrayHeader(&n) || n != 2 || !r.Uint(&agent) || !r.Uint(&seq)) {
    return Bad(r, field.Name() + " is not an [agent, seq] id");
  }
  if (agent == kRootAgent) return Bad(r, field.Name() + " uses the root agent");
  *out = Id{AgentId{agent}, seq};
  return Status::Ok();
}

Status ReadOneOp(msgpack::Reader& r, uint32_t i, Op* op) {
  uint32_t fields;
  uint64_t kind;
  if (!r.ArrayHeader(&fields) || fields != 4 || !r.Uint(&kind) || kind > 1) {
    return Bad(r, "op " + std::to_string(i) + " is not [0|1, ...]");
  }
  if (kind == 0) {
    op->kind = Op::Kind::kInsert;
    QUIRE_RETURN_IF_ERROR(ReadId(r, true, {"op", i, " left origin"}, &op->origin_left));
    QUIRE_RETURN_IF_ERROR(ReadId(r, true, {"op", i, " right origin"}, &op->origin_right));
    std::string_view text;
    if (!r.Str(&text)) return Bad(r, "op " + std::to_string(i) + " text is not a string");
    op->text.assign(text);
    return Status::Ok();
  }
  op->kind = Op::Kind::kDelete;
  QUIRE_RETURN_IF_ERROR(ReadId(r, false, {"op", i, " target"}, &op->target));
  if (!r.Uint(&op->len) || !r.Bool(&op->backward)) {
    return Bad(r, "op " + std::to_string(i) + " length or direction is malformed");
  }
  return Status::Ok();
}

void EncodeChange(const Change& change, msgpack::Writer& w) {
  w.ArrayHeader(4);
  w.Uint(change.id.agent.value);
  w.Uint(change.id.seq);
  w.ArrayHeader(static_cast<uint32_t>(change.parents.size()));
  for (const Id& p : change.parents) WriteId(p, w);
  w.ArrayHeader(static_cast<uint32_t>(change.ops.size()));
  for (const Op& op : change.ops) {
    w.ArrayHeader(4);
    if (op.kind == Op::Kind::kInsert) {
      w.Uint(0);
      WriteId(op.origin_left, w);
      WriteId(op.origin_right, w);
      w.Str(op.text);
    } else {
      w.Uint(1);
      WriteId(op.target, w);
      w.Uint(op.len);
      w.Bool(op.backward);
    }
  }
}

std::string EncodeChange(const Change& change) {
  std::string out;
  msgpack::Writer w(&out);
  EncodeChange(change, w);
  return out;
}

Result<Change> ReadChange(msgpack::Reader& r) {
  Change c;
  uint32_t n;
  uint64_t agent;
  if (!r.ArrayHeader(&n) || n != 4) return Bad(r, "expected [agent, seq, parents, ops]");
  if (!r.Uint(&agent) || !r.Uint(&c.id.seq)) return Bad(r, "bad agent or seq");
  if (agent == kRootAgent) return Bad(r, "the root agent");
  c.id.agent = AgentId{agent};
  if (!r.ArrayHeader(&n)) return Bad(r, "parents is not an array");
  if (n > kMaxWireParents) return ResourceExhausted("change: too many parents");
  c.parents.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) {
    QUIRE_RETURN_IF_ERROR(ReadId(r, false, {"parent", i, ""}, &c.parents.emplace_back()));
  }
  if (!r.ArrayHeader(&n)) return Bad(r, "ops is not an array");
  if (n > kMaxWireOps) return ResourceExhausted("change: too many ops");
  c.ops.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) QUIRE_RETURN_IF_ERROR(ReadOneOp(r, i, &c.ops.emplace_back()));
  return c;
}

Result<Change> DecodeChange(std::string_view bytes) {
  msgpack::Reader r(bytes);
  Result<Change> c = ReadChange(r);
  if (c.ok() && !r.done()) return InvalidArgument("change: trailing bytes");
  return c;
}

std::string ComponentName(uint32_t i) { return "op: component " + std::to_string(i); }

void EncodeOp(const TextOp& op, msgpack::Writer& writer) {
  writer.ArrayHeader(static_cast<uint32_t>(op.components().size()));
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Component::Kind::kRetain:
        writer.Uint(c.count);
        break;
      case Component::Kind::kInsert:
        writer.Str(c.text);
        break;
      case Component::Kind::kDelete:
        writer.Int(-static_cast<int64_t>(c.count));
        break;
    }
  }
}

std::string EncodeOp(const TextOp& op) {
  std::string out;
  msgpack::Writer writer(&out);
  EncodeOp(op, writer);
  return out;
}

Result<TextOp> ReadOp(msgpack::Reader& reader) {
  uint32_t n;
  if (reader.Peek() != msgpack::Type::kArray) {
    return InvalidArgument("op: expected an array of components");
  }
  if (!reader.ArrayHeader(&n)) {
    return InvalidArgument(
        "op: array header is truncated or claims more components than there are bytes");
  }
  if (n > kMaxWireComponents) {
    return ResourceExhausted("op: more than " + std::to_string(kMaxWireComponents) + " components");
  }
  std::vector<Component> components;
  components.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) {
    switch (reader.Peek()) {
      case msgpack::Type::kInt: {
        int64_t v;
        if (!reader.Int(&v)) {
          return InvalidArgument(ComponentName(i) + " is not a 64-bit signed integer");
        }
        if (v == 0) return InvalidArgument(ComponentName(i) + " has length 0");
        if (v < -static_cast<int64_t>(kMaxLength) || v > static_cast<int64_t>(kMaxLength)) {
          return InvalidArgument(ComponentName(i) + " is longer than the limit");
        }
        components.push_back(v > 0 ? Component::Retain(static_cast<size_t>(v))
                                   : Component::Delete(static_cast<size_t>(-v)));
        break;
      }
      case msgpack::Type::kStr: {
        std::string_view s;
        if (!reader.Str(&s)) return InvalidArgument(ComponentName(i) + " is truncated");
        components.push_back(Component{Component::Kind::kInsert, 0, std::string(s)});
        break;
      }
      default:
        return InvalidArgument(ComponentName(i) + " is neither an integer nor a string");
    }
  }
  Result<TextOp> op = TextOp::FromComponents(std::move(components));
  if (!op.ok()) return Status(op.status().code(), "op: " + op.status().message());
  return op;
}

Result<TextOp> DecodeOp(std::string_view bytes) {
  msgpack::Reader reader(bytes);
  Result<TextOp> op = ReadOp(reader);
  if (op.ok() && !reader.done()) return InvalidArgument("op: trailing bytes after the op");
  return op;
}

}  // namespace baseline

namespace {

using Clock = std::chrono::steady_clock;

// Inputs, made once and checked before timing.
struct Workload {
  std::string error;  // Non-empty when it could not be made or checked.
  std::vector<crdt::Change> changes;
  std::vector<ot::TextOp> ops;
  std::vector<std::string> encoded;  // Each change or op, encoded.
  size_t bytes = 0;                  // Sum of encoded sizes.
};

std::string EncodeNew(const crdt::Change& c) { return crdt::EncodeChange(c); }
std::string EncodeNew(const ot::TextOp& op) { return ot::EncodeOp(op); }
std::string EncodeOld(const crdt::Change& c) { return baseline::EncodeChange(c); }
std::string EncodeOld(const ot::TextOp& op) { return baseline::EncodeOp(op); }
auto DecodeNew(const crdt::Change&, std::string_view b) { return crdt::DecodeChange(b); }
auto DecodeNew(const ot::TextOp&, std::string_view b) { return ot::DecodeOp(b); }
auto DecodeOld(const crdt::Change&, std::string_view b) { return baseline::DecodeChange(b); }
auto DecodeOld(const ot::TextOp&, std::string_view b) { return baseline::DecodeOp(b); }

// Both implementations must write the same bytes and read them back.
template <typename T>
void EncodeAndCheck(const std::vector<T>& values, Workload* w) {
  for (const T& v : values) {
    std::string bytes = EncodeNew(v);
    if (bytes != EncodeOld(v)) {
      w->error = "msgpack-c and the baseline encode differently";
      return;
    }
    auto a = DecodeNew(v, bytes);
    auto b = DecodeOld(v, bytes);
    if (!a.ok() || !b.ok() || !(*a == v) || !(*b == v)) {
      w->error = "a value does not decode to itself";
      return;
    }
    w->bytes += bytes.size();
    w->encoded.push_back(std::move(bytes));
  }
}

Workload MakeTraceChanges(bool merged) {
  Workload w;
  const std::string path = std::string(QUIRE_TRACES_DIR) + "/sequential/automerge-paper.json.gz";
  Result<tools::Trace> trace = tools::LoadTrace(path);
  if (!trace.ok()) {
    w.error = trace.status().ToString();
    return w;
  }
  crdt::TextDoc doc = tools::ReplayLocal(*trace, merged ? nullptr : &w.changes);
  if (merged) w.changes = doc.ChangesSince(crdt::Version());
  EncodeAndCheck(w.changes, &w);
  return w;
}

// Keystrokes as a person types them (ot_bench's history): mostly typing at
// the caret, some backspaces, an occasional jump.
Workload MakeKeystrokeOps() {
  Workload w;
  std::mt19937_64 rng(42);
  size_t len = 5000;
  size_t caret = len / 2;
  for (int i = 0; i < 10000; ++i) {
    const int roll = static_cast<int>(rng() % 100);
    if (roll < 5) caret = rng() % (len + 1);
    if (roll >= 5 && roll < 15 && caret > 0) {
      w.ops.push_back(ot::TextOp().Retain(caret - 1).Delete(1));
      --caret;
      --len;
    } else {
      const char c = static_cast<char>('a' + rng() % 26);
      w.ops.push_back(ot::TextOp().Retain(caret).Insert(std::string_view(&c, 1), 1));
      ++caret;
      ++len;
    }
  }
  EncodeAndCheck(w.ops, &w);
  return w;
}

const Workload& Get(const std::string& name) {
  static const Workload keystrokes = MakeTraceChanges(/*merged=*/false);
  static const Workload merged = MakeTraceChanges(/*merged=*/true);
  static const Workload ops = MakeKeystrokeOps();
  if (name == "paper_keystrokes") return keystrokes;
  if (name == "paper_merged") return merged;
  return ops;
}

// Encodes every value into one reused buffer; returns the bytes written.
template <typename T>
size_t EncodeAllNew(const std::vector<T>& values, wire::Buffer* buf) {
  size_t n = 0;
  for (const T& v : values) {
    buf->clear();
    wire::Packer pk(*buf);
    if constexpr (std::is_same_v<T, crdt::Change>) {
      crdt::EncodeChange(v, pk);
    } else {
      ot::EncodeOp(v, pk);
    }
    n += buf->size();
  }
  return n;
}

template <typename T>
size_t EncodeAllOld(const std::vector<T>& values, std::string* out) {
  size_t n = 0;
  for (const T& v : values) {
    out->clear();
    baseline::msgpack::Writer w(out);
    if constexpr (std::is_same_v<T, crdt::Change>) {
      baseline::EncodeChange(v, w);
    } else {
      baseline::EncodeOp(v, w);
    }
    n += out->size();
  }
  return n;
}

// Decodes every value; returns how many decoded (all of them, or the
// benchmark is wrong).
template <bool kNew, typename T>
size_t DecodeAll(const Workload& w, const T& kind) {
  size_t ok = 0;
  for (const std::string& bytes : w.encoded) {
    if constexpr (kNew) {
      auto v = DecodeNew(kind, bytes);
      ok += v.ok();
      benchmark::DoNotOptimize(v);
    } else {
      auto v = DecodeOld(kind, bytes);
      ok += v.ok();
      benchmark::DoNotOptimize(v);
    }
  }
  return ok;
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs `old_fn` and `new_fn` (each returning a size_t checked against
// `want`) in every iteration, alternating the order, and reports both.
template <typename OldFn, typename NewFn>
void Compare(benchmark::State& state, const Workload& w, size_t want, OldFn old_fn, NewFn new_fn) {
  if (!w.error.empty()) {
    state.SkipWithError(w.error.c_str());
    return;
  }
  double old_ms = 0;
  double new_ms = 0;
  bool new_first = false;
  for (auto _ : state) {
    new_first = !new_first;
    double this_new = 0;
    for (int k = 0; k < 2; ++k) {
      const bool run_new = (k == 0) == new_first;
      const Clock::time_point start = Clock::now();
      const size_t got = run_new ? new_fn() : old_fn();
      const double ms = MsSince(start);
      if (got != want) state.SkipWithError("wrong result");
      (run_new ? this_new : old_ms) += ms;
    }
    new_ms += this_new;
    state.SetIterationTime(this_new / 1000);
  }
  state.counters["baseline_ms"] = benchmark::Counter(old_ms, benchmark::Counter::kAvgIterations);
  state.counters["msgpack_c_ms"] = benchmark::Counter(new_ms, benchmark::Counter::kAvgIterations);
  state.counters["ratio"] = old_ms > 0 ? new_ms / old_ms : 0;
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.bytes));
}

template <typename T>
const std::vector<T>& Values(const Workload& w) {
  if constexpr (std::is_same_v<T, crdt::Change>) {
    return w.changes;
  } else {
    return w.ops;
  }
}

template <typename T>
void BM_Encode(benchmark::State& state, const std::string& name) {
  const Workload& w = Get(name);
  wire::Buffer buf;
  std::string out;
  Compare(
      state, w, w.bytes, [&] { return EncodeAllOld(Values<T>(w), &out); },
      [&] { return EncodeAllNew(Values<T>(w), &buf); });
}

template <typename T>
void BM_Decode(benchmark::State& state, const std::string& name) {
  const Workload& w = Get(name);
  Compare(
      state, w, w.encoded.size(), [&] { return DecodeAll<false>(w, T()); },
      [&] { return DecodeAll<true>(w, T()); });
}

// One valid op of about `bytes` bytes: retain 1, delete 1, insert "ab", ...
void BM_DecodeOpBytes(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  ot::TextOp op;
  while (op.components().size() * 2 < bytes / 2) op.Retain(1).Delete(1).Insert("ab").Retain(1);
  const std::string encoded = ot::EncodeOp(op);
  for (auto _ : state) {
    Result<ot::TextOp> back = ot::DecodeOp(encoded);
    benchmark::DoNotOptimize(back);
  }
  if (!ot::DecodeOp(encoded).ok()) state.SkipWithError("the op does not decode");
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(encoded.size()));
}
BENCHMARK(BM_DecodeOpBytes)
    ->Arg(1 << 12)
    ->Arg(1 << 16)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMicrosecond);

void RegisterAll() {
  auto add = [](const char* name, void (*fn)(benchmark::State&, const std::string&),
                const char* workload) {
    benchmark::RegisterBenchmark((std::string(name) + "/" + workload).c_str(), fn, workload)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
  };
  for (const char* w : {"paper_keystrokes", "paper_merged"}) {
    add("BM_EncodeChanges", BM_Encode<crdt::Change>, w);
    add("BM_DecodeChanges", BM_Decode<crdt::Change>, w);
  }
  add("BM_EncodeOps", BM_Encode<ot::TextOp>, "keystroke_ops_10k");
  add("BM_DecodeOps", BM_Decode<ot::TextOp>, "keystroke_ops_10k");
}

}  // namespace
}  // namespace quire::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  quire::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
