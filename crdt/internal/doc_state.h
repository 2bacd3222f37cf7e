// DocState is the whole of one replica: the op log (History), the
// document order (SpanTree), the changes held back for missing
// dependencies and the local typing cache. TextDoc is its public face;
// the decoder builds one with FromDecoded().
//
// Thread safety: none; const methods are safe concurrently.
#ifndef QUIRE_CRDT_INTERNAL_DOC_STATE_H_
#define QUIRE_CRDT_INTERNAL_DOC_STATE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crdt/change.h"
#include "crdt/internal/history.h"
#include "crdt/internal/pending.h"
#include "crdt/internal/span_tree.h"
#include "crdt/limits.h"
#include "ot/text_op.h"

namespace quire::crdt::internal {

// Checks what can be checked without a document: lengths, UTF-8, ids.
// Sets *len to the change's ops.
Status ValidateShape(const Change& change, uint64_t* len);
// InvalidArgument unless the left origin lies before the right one.
// REQUIRES: both are in the tree or kRootLv; no pending counts.
Status CheckOriginOrder(const SpanTree& tree, Lv origin_left, Lv origin_right);
// The raw position of a character. REQUIRES: lv is in the tree.
uint32_t RawPosOf(const SpanTree& tree, Lv lv);

// A ready change with every reference resolved to an LV: what pass 1 of
// integration (resolve.cc) checked and pass 2 needs. Texts point into the
// Change.
struct ResolvedChange {
  struct Insert {
    Lv lv;  // The LV its first character gets.
    uint32_t len;
    Lv origin_left;
    Lv origin_right;
    std::string_view text;
    bool ascii;
  };
  struct Delete {  // Consecutive delete ops whose targets are consecutive LVs.
    uint32_t len;
    Lv target;
    bool backward;
  };
  struct Step {       // One op of the change: an insert, or the pieces of a delete.
    uint64_t offset;  // First op within the (trimmed) change.
    uint64_t len;
    bool is_insert;
    size_t index;  // Into inserts, or the first of `count` deletes.
    size_t count;
  };
  std::vector<Step> steps;
  std::vector<Insert> inserts;
  std::vector<Delete> deletes;
  std::vector<Lv> parents;         // Of the first op integrated: sorted, distinct.
  Lv base_lv = 0;                  // LV the first op integrated gets.
  uint64_t len = 0;                // Ops integrated (the change minus what was known).
  bool origins_in_change = false;  // Some insert names an earlier op of the change.
  bool order_proven = true;        // Their order follows from the change alone.

  // Empties it, keeping the vectors' capacity.
  void Clear() {
    steps.clear();
    inserts.clear();
    deletes.clear();
    parents.clear();
    base_lv = 0;
    len = 0;
    origins_in_change = false;
    order_proven = true;
  }
};

class DocState {
 public:
  // Upper bounds of what the document order and the fixed fields add to
  // History::EncodedBytesBound(): per order run (two varints) and for the
  // six section counts and the header's varint.
  static constexpr uint64_t kOrderRunBytes = 10;
  static constexpr uint64_t kFixedBytes = 40;
  // What an insert or a delete piece adds to the encoding at most, besides
  // its text and its parents: a new op run, agent run and graph entry with
  // one parent; an insert also splits an order run and starts one.
  static constexpr uint64_t kRecordBytes = History::kOpRunBytes + History::kAgentRunBytes +
                                           History::kGraphEntryBytes + History::kParentBytes;
  static constexpr uint64_t kInsertBytes = kRecordBytes + 2 * kOrderRunBytes;

  // REQUIRES: limits within DocLimits::kMaxOps / kMaxBytes.
  DocState(AgentId agent, const DocLimits& limits) : agent_(agent), limits_(limits) {}

  // The decoder's way in: a restored history and the document order it
  // read (tombstones included, `order_runs` maximal runs of consecutive
  // LVs). When some insert's origins were explicit (concurrent inserts),
  // the order is checked by integrating the inserts again in LV order:
  // Corruption unless that gives exactly this order, so every decoded
  // document is one that Apply() could have built.
  static Result<std::unique_ptr<DocState>> FromDecoded(AgentId agent, const DocLimits& limits,
                                                       History history,
                                                       const std::vector<Span>& spans,
                                                       uint64_t order_runs, bool replay);

  AgentId agent() const { return agent_; }
  // Makes `agent` the author of the local edits that follow.
  void SetAgent(AgentId agent) {
    if (agent == agent_) return;
    agent_ = agent;
    local_agent_ = -1;
    cache_valid_ = false;
    del_cache_valid_ = false;
  }
  uint64_t NextSeq(AgentId agent) const {
    const int i = history_.FindAgent(agent);
    return i < 0 ? 0 : history_.agents()[static_cast<size_t>(i)].next_seq;
  }
  const DocLimits& limits() const { return limits_; }
  const History& history() const { return history_; }
  const SpanTree& tree() const { return tree_; }

  // Local edits. REQUIRES: positions in range, and CheckLocalEdit() would
  // accept the edit (the document stays within its limits).
  Change Insert(uint32_t pos, std::string_view utf8);
  Change Remove(uint32_t pos, uint32_t len);
  // The same without building a Change. `n`: code points of utf8 (> 0).
  void LocalInsert(uint32_t pos, std::string_view utf8, uint32_t n, Lv* origin_left,
                   Lv* origin_right);
  // Adds the delete ops to *change when it is not nullptr.
  void LocalRemove(uint32_t pos, uint32_t len, Change* change);
  // ResourceExhausted when applying `op` as local edits would take the
  // document past its limits. REQUIRES: op.BaseLength() <= visible length.
  Status CheckLocalEdit(const ot::TextOp& op);

  // Integrates a remote change; adds its patch (and that of any held-back
  // change it unblocks) to *patch when patch != nullptr.
  Status Apply(const Change& change, ot::TextOp* patch);
  // Checks `change` against its causal past (docs/crdt.md, "Validating
  // untrusted changes"). Changes nothing the caller sees (not const: it
  // settles the tree's pending counts).
  Status ValidateCausalPast(const Change& change);
  std::vector<Change> ChangesSince(const Version& version) const;
  Status Merge(const DocState& other);

  Version GetVersion() const;
  Frontier GetFrontier() const;
  std::vector<Id> MissingDependencies() const;
  size_t PendingCount() const { return pending_.size(); }

  std::string Text() const;
  // The id of the visible character at `pos`. REQUIRES: pos < visible length.
  Id IdAt(uint32_t pos);
  // Visible characters before the character `id` (plus one with `after`
  // when it is visible); false when `id` is not an inserted character here.
  bool PositionOf(const Id& id, bool after, uint32_t* pos);
  // An upper bound of Encode()'s body (what DocLimits::max_bytes limits).
  uint64_t EncodedBytesBound() const {
    return kFixedBytes + history_.EncodedBytesBound() + kOrderRunBytes * order_runs_bound_;
  }
  size_t MemoryUsage() const;
  void CheckInvariants() const;

 private:
  enum class Readiness { kReady, kDuplicate, kMissing };

  // kMissing sets *waits_for to the first op it lacks.
  Readiness CheckReady(const Change& change, uint64_t len, Id* waits_for) const;
  // Validates and integrates a ready change. On error nothing changed.
  Status Integrate(const Change& change, std::vector<ot::TextOp>* patches);
  // Pass 1 of Integrate (resolve.cc): every reference resolved and
  // checked, the limits checked; nothing changes. REQUIRES: a ready change,
  // no pending tree counts.
  Status Resolve(const Change& change, ResolvedChange* out) const;
  // Pass 2: integrates a resolved change. Fails only when `check_order`
  // (origins made by the change itself whose order Resolve could not
  // prove) and they are out of order, possibly half way.
  Status IntegrateResolved(const Change& change, const ResolvedChange& r, bool check_order,
                           std::vector<ot::TextOp>* patches);
  // Integrates held-back changes that wait for ops of `agent` it now has,
  // and what they unblock in turn.
  void Unblock(AgentId agent, std::vector<ot::TextOp>* patches);
  // Re-files or integrates held-back changes whose dependencies may have
  // arrived.
  void Recheck(std::vector<PendingChanges::Entry> entries, std::vector<ot::TextOp>* patches);

  uint32_t LocalAgent();
  Change NewChange();  // Id and parents for the next local change.
  void IntegrateInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv origin_left,
                       Lv origin_right, std::string_view text, bool ascii,
                       std::vector<ot::TextOp>* patches);
  void IntegrateDelete(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv target,
                       bool backward, std::vector<ot::TextOp>* patches);
  // Inserts [lv, lv + len) into the tree at `at` and counts the order runs
  // it may add. Returns the cursor just after it.
  Cursor TreeInsert(const Cursor& at, Lv lv, uint32_t len);
  // FugueMax / YjsMod integration: where an insert with these origins goes.
  Cursor FindInsertPlace(Lv origin_left, Lv origin_right, AgentId agent, uint64_t seq) const;
  Status CheckOriginOrder(Lv origin_left, Lv origin_right) const {
    return internal::CheckOriginOrder(tree_, origin_left, origin_right);
  }
  // The order the inserts give when integrated again in LV order equals
  // `spans` (ignoring deleted flags). REQUIRES: an empty tree.
  bool ReplayGivesOrder(const std::vector<Span>& spans);
  std::vector<Id> IdsOf(const std::vector<Lv>& lvs) const;
  // ResourceExhausted when growing by `ops` ops and `bytes` encoded bytes
  // would pass the limits.
  Status CheckGrowth(uint64_t ops, uint64_t bytes) const;

  AgentId agent_;
  DocLimits limits_;
  int local_agent_ = -1;  // agent_'s index in history_, once it has one.
  History history_;
  SpanTree tree_;
  // At least the number of maximal runs of consecutive LVs in document
  // order (what the encoding's order section holds): each tree insert
  // that does not extend a span adds at most two.
  uint64_t order_runs_bound_ = 0;

  // Local typing fast path: after a local insert, the cursor just after
  // the inserted text, its visible position, and the inserted run's right
  // origin. Any other change to the document clears it.
  bool cache_valid_ = false;
  Cursor cache_cursor_;
  uint32_t cache_pos_ = 0;
  Lv cache_origin_right_ = kRootLv;
  bool cache_ascii_ = false;  // The run is ASCII and the history's last op run.
  // After a local delete of one character: the visible character before it
  // (where the next backspace goes) and its visible position.
  bool del_cache_valid_ = false;
  Cursor del_cache_cursor_;
  uint32_t del_cache_pos_ = 0;

  PendingChanges pending_;
  // Scratch space of Integrate(), kept so that integrating a change
  // allocates nothing once warm (a keystroke each is the common case).
  ResolvedChange resolved_;
  std::vector<Lv> parents_;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_DOC_STATE_H_
