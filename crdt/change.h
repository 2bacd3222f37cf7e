// A Change is what one replica sends another: a run of ops by one agent
// with consecutive seqs, made on the version named by its parents. Each op
// after the first depends on the one before it, so a Change is a straight
// line in the causal graph.
//
// Ops are run-length encoded: an Insert of "hello" is five ops (five seqs)
// in one record, a Delete of 3 characters is three.
//
// Thread safety: value types.
#ifndef QUIRE_CRDT_CHANGE_H_
#define QUIRE_CRDT_CHANGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/id.h"

namespace quire::crdt {

struct Op {
  enum class Kind : uint8_t { kInsert, kDelete };
  Kind kind = Kind::kInsert;

  // kInsert: `text` (UTF-8, one op per code point) goes between the
  // characters `origin_left` and `origin_right` (Id::Root() for the
  // document's start and end); each following character's left origin is
  // the one before it.
  Id origin_left = Id::Root();
  Id origin_right = Id::Root();
  std::string text;

  // kDelete: removes `len` characters of one agent: target.seq,
  // target.seq + 1, ... or, when `backward` (a run of backspaces),
  // target.seq, target.seq - 1, ...
  Id target;
  uint64_t len = 0;
  bool backward = false;

  // Ops (seqs) this record stands for. kInsert: code points of `text`.
  uint64_t Length() const;

  friend bool operator==(const Op&, const Op&) = default;
};

struct Change {
  Id id;                     // The first op's id.
  std::vector<Id> parents;   // The version it was made on (sorted; empty = the empty document).
  std::vector<Op> ops;

  uint64_t Length() const;   // Ops (seqs) in the change.
  friend bool operator==(const Change&, const Change&) = default;
};

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_CHANGE_H_
