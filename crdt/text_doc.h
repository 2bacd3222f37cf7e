// TextDoc is one replica of a text document: a sequence CRDT over Unicode
// code points (docs/crdt.md). Local edits return a Change to send;
// Apply() integrates remote Changes in any causal order, with duplicates,
// and returns the patch they caused here. Replicas that applied the same
// set of Changes hold the same text. Concurrent runs typed at one place
// never interleave, forwards or backwards (FugueMax semantics).
//
// Thread safety: const methods may run concurrently; anything else needs
// external synchronization (in the server: the owning Room's strand).
#ifndef QUIRE_CRDT_TEXT_DOC_H_
#define QUIRE_CRDT_TEXT_DOC_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crdt/change.h"
#include "crdt/id.h"
#include "ot/text_op.h"

namespace quire::crdt {

namespace internal {
class DocState;
}

class TextDoc {
 public:
  // REQUIRES: agent.value != kRootAgent.
  explicit TextDoc(AgentId agent);
  ~TextDoc();
  TextDoc(const TextDoc& other);
  TextDoc& operator=(const TextDoc& other);
  TextDoc(TextDoc&&) noexcept;
  TextDoc& operator=(TextDoc&&) noexcept;

  AgentId agent() const;

  // Inserts valid UTF-8 `utf8` before code point `pos`.
  // REQUIRES: pos <= size(), `utf8` valid UTF-8, and the document stays
  // under 2^31 ops in all (ApplyLocalOp checks this for input from outside).
  Change Insert(size_t pos, std::string_view utf8);
  // Removes `len` code points from `pos`. REQUIRES: pos + len <= size().
  Change Remove(size_t pos, size_t len);
  // The same edits without building a Change: what an editor calls per
  // keystroke. It then sends ChangesSince(the version it sent last), which
  // batches the keystrokes into a few run-length encoded Changes.
  void LocalInsert(size_t pos, std::string_view utf8);
  void LocalRemove(size_t pos, size_t len);
  // Applies an ot:: op as local edits (how an OT client's op becomes CRDT
  // changes). OutOfRange when the op does not fit; nothing changes then.
  Result<std::vector<Change>> ApplyLocalOp(const ot::TextOp& op);

  // Integrates a remote change and returns the patch it caused here. A
  // change whose dependencies (parents, an earlier seq of its agent) are
  // missing is held back (at most 10,000 changes or 64 MiB) and integrated,
  // with its patch, by the Apply that completes it; a duplicate changes nothing. InvalidArgument for a
  // malformed or contradictory change, ResourceExhausted when too much is
  // held back; in both cases the document is untouched.
  [[nodiscard]] Result<ot::TextOp> Apply(const Change& change);

  // Apply() without computing the patch: for replicas nobody displays (a
  // server relaying to CRDT peers, imports, simulations). Same checks.
  [[nodiscard]] Status Integrate(const Change& change);

  // Changes that a replica at `version` lacks, in causal order: exactly
  // those ops, grouped into as few Changes as the history allows.
  std::vector<Change> ChangesSince(const Version& version) const;
  // Integrates everything `other` has that this replica lacks.
  [[nodiscard]] Status Merge(const TextDoc& other);

  Version GetVersion() const;
  Frontier GetFrontier() const;
  // For each agent whose ops held-back changes wait for, the first missing
  // Id (seq order per agent makes it name all of them); empty when nothing
  // is held back.
  std::vector<Id> MissingDependencies() const;
  size_t PendingCount() const;

  size_t size() const;  // Visible code points.
  std::string Text() const;

  // The whole document with its full history, in the binary format of
  // docs/crdt_format.md. Decode validates every byte: Corruption for
  // anything that does not decode to a valid document.
  std::string Encode() const;
  static Result<TextDoc> Decode(std::string_view bytes, AgentId agent);

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
