// TextDoc is one replica of a text document: a sequence CRDT over Unicode
// code points (docs/crdt.md). Local edits return a Change to send;
// Apply() integrates remote Changes in any causal order, with duplicates,
// and returns the patch they caused here. Replicas that applied the same
// set of Changes hold the same text. Concurrent runs typed at one place
// never interleave, forwards or backwards (FugueMax semantics).
//
// A document stays within its DocLimits (crdt/limits.h): whatever would
// take it past them is refused with ResourceExhausted, and Decode refuses
// encodings past the limits it is given.
//
// Thread safety: const methods may run concurrently; anything else needs
// external synchronization (in the server: the owning Room's strand).
#ifndef QUIRE_CRDT_TEXT_DOC_H_
#define QUIRE_CRDT_TEXT_DOC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crdt/change.h"
#include "crdt/id.h"
#include "crdt/limits.h"
#include "ot/text_op.h"

namespace quire::crdt {

namespace internal {
class DocState;
}

class TextDoc {
 public:
  // REQUIRES: agent.value != kRootAgent. Limits above DocLimits::kMaxOps
  // or kMaxBytes are clamped to them.
  explicit TextDoc(AgentId agent, const DocLimits& limits = DocLimits());
  ~TextDoc();
  TextDoc(const TextDoc& other);
  TextDoc& operator=(const TextDoc& other);
  TextDoc(TextDoc&&) noexcept;
  TextDoc& operator=(TextDoc&&) noexcept;

  AgentId agent() const;
  const DocLimits& limits() const;

  // Inserts valid UTF-8 `utf8` before code point `pos`.
  // REQUIRES: pos <= size(), `utf8` valid UTF-8, and the edit keeps the
  // document within limits() (ApplyLocalOp checks that for input from
  // outside).
  Change Insert(size_t pos, std::string_view utf8);
  // Removes `len` code points from `pos`. REQUIRES: pos + len <= size(),
  // and the edit keeps the document within limits().
  Change Remove(size_t pos, size_t len);
  // The same edits without building a Change: what an editor calls per
  // keystroke. It then sends ChangesSince(the version it sent last), which
  // batches the keystrokes into a few run-length encoded Changes.
  void LocalInsert(size_t pos, std::string_view utf8);
  void LocalRemove(size_t pos, size_t len);
  // Applies an ot:: op as local edits (how an OT client's op becomes CRDT
  // changes). OutOfRange when the op does not fit the text,
  // ResourceExhausted when it would take the document past limits();
  // nothing changes then.
  Result<std::vector<Change>> ApplyLocalOp(const ot::TextOp& op);
  // ApplyLocalOp authored by `agent` (continuing its seqs here) instead of
  // agent(), as one Change: how a server applies an OT client's op as that
  // client's edit. InvalidArgument for an op that changes nothing.
  // REQUIRES: agent.value != kRootAgent.
  Result<Change> ApplyLocalOpAs(AgentId agent, const ot::TextOp& op);

  // Integrates a remote change and returns the patch it caused here. A
  // change whose dependencies (parents, an earlier seq of its agent) are
  // missing is held back (one copy per id; at most 10,000 changes or
  // 64 MiB) and integrated, with its patch, by the Apply that completes
  // it; a duplicate changes nothing. InvalidArgument for a malformed or
  // contradictory change, ResourceExhausted when it would take the
  // document past limits() or too much is held back; in every case the
  // document is untouched.
  [[nodiscard]] Result<ot::TextOp> Apply(const Change& change);

  // Apply() without computing the patch: for replicas nobody displays (a
  // server relaying to CRDT peers, imports, simulations). Same checks.
  [[nodiscard]] Status Integrate(const Change& change);

  // What a server runs before it integrates a change from a client it does
  // not trust: checks the change against its causal past (docs/crdt.md,
  // "Validating untrusted changes"): each insert's origins were adjacent
  // in the version its parents name, and every op it references is in
  // that version. OK for a duplicate; NotFound when a dependency is
  // missing (nothing can be checked yet); InvalidArgument or
  // ResourceExhausted for what Apply() would refuse; FailedPrecondition for
  // what the causal-past checks find.
  // Changes nothing visible (it is not const only because it settles
  // internal counts).
  [[nodiscard]] Status ValidateChange(const Change& change);

  // Changes that a replica at `version` lacks, in causal order: exactly
  // those ops, grouped into as few Changes as the history allows.
  std::vector<Change> ChangesSince(const Version& version) const;
  // Integrates everything `other` has that this replica lacks.
  // ResourceExhausted when that would pass limits().
  [[nodiscard]] Status Merge(const TextDoc& other);

  Version GetVersion() const;
  Frontier GetFrontier() const;
  // The seq `agent`'s next op will have: how many of its ops this replica
  // holds (GetVersion().Get(agent) without building the version).
  uint64_t NextSeq(AgentId agent) const;
  // For each agent whose ops held-back changes wait for, the first missing
  // Id (seq order per agent makes it name all of them); empty when nothing
  // is held back.
  std::vector<Id> MissingDependencies() const;
  size_t PendingCount() const;

  size_t size() const;  // Visible code points.
  std::string Text() const;

  // Anchors: places in the text attached to a character, which stay on it
  // while others edit (presence cursors). The id of the character at
  // visible position `pos`. REQUIRES: pos < size().
  Id IdAt(size_t pos);
  // Where the edge of character `id` is now: the position just before it,
  // or just after it with `after`. A deleted character keeps its place:
  // both edges are where it was. NotFound when this replica lacks `id`, or
  // `id` is a delete. Not const: it settles internal counts first.
  Result<size_t> PositionOf(const Id& id, bool after);
  // Ops in the history (what DocLimits::max_ops limits).
  uint64_t OpCount() const;
  // An upper bound of Encode()'s size before compression (what
  // DocLimits::max_bytes limits; docs/crdt_format.md says what it counts).
  uint64_t ByteSize() const;

  // The whole document with its full history, in the binary format of
  // docs/crdt_format.md.
  std::string Encode() const;
  // Validates every byte: Corruption for anything that does not decode to
  // a document Apply() could have built, ResourceExhausted for one past
  // `limits` (refused before decompressing when its stated size is).
  // Time and memory are linear in the decoded size, never in a count the
  // bytes claim. The document keeps `limits`.
  static Result<TextDoc> Decode(std::string_view bytes, AgentId agent,
                                const DocLimits& limits = DocLimits());

  // Bytes of memory the document holds (its structures' capacities).
  size_t MemoryUsage() const;
  // Aborts on a broken internal invariant (tests, fuzzers).
  void CheckInvariants() const;

 private:
  explicit TextDoc(std::unique_ptr<internal::DocState> state);
  std::unique_ptr<internal::DocState> state_;
};

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_TEXT_DOC_H_
