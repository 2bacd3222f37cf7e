// DocLimits bounds what one document may hold. Every way a document grows
// (local edits, Apply, Merge) refuses to pass them, and TextDoc::Decode
// refuses encodings that pass them, so a document that fits is one that
// loads again under the same limits.
//
// Thread safety: a value type.
#ifndef QUIRE_CRDT_LIMITS_H_
#define QUIRE_CRDT_LIMITS_H_

#include <cstdint>

namespace quire::crdt {

struct DocLimits {
  // LVs and text offsets are 32-bit: no limit may exceed these.
  static constexpr uint64_t kMaxOps = (uint64_t{1} << 31) - 1;
  static constexpr uint64_t kMaxBytes = (uint64_t{1} << 32) - 1;

  // Ops over the whole history: inserted plus deleted characters.
  uint64_t max_ops = kMaxOps;
  // The document's size in bytes: its encoding before compression
  // (docs/crdt_format.md), which is the UTF-8 of every character ever
  // inserted (deleted ones stay in the history) plus the history's
  // metadata. Documents that grow track an upper bound of it
  // (TextDoc::ByteSize()); Decode checks the exact figure.
  uint64_t max_bytes = uint64_t{256} << 20;

  // The limits clamped to what the structures can hold.
  DocLimits Clamped() const {
    DocLimits l = *this;
    if (l.max_ops > kMaxOps) l.max_ops = kMaxOps;
    if (l.max_bytes > kMaxBytes) l.max_bytes = kMaxBytes;
    return l;
  }
  friend bool operator==(const DocLimits&, const DocLimits&) = default;
};

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_LIMITS_H_
