// DocState is the whole of one replica: the op log (History), the
// document order (SpanTree), the pending queue and the local typing cache.
// TextDoc is its public face; encoding.cc builds one from bytes.
//
// Thread safety: none; const methods are safe concurrently.
#ifndef QUIRE_CRDT_INTERNAL_DOC_STATE_H_
#define QUIRE_CRDT_INTERNAL_DOC_STATE_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crdt/change.h"
#include "crdt/internal/history.h"
#include "crdt/internal/span_tree.h"
#include "crdt/text_doc.h"
#include "ot/text_op.h"

namespace quire::crdt::internal {

class DocState {
 public:
  // LVs are 32-bit: a document holds fewer ops, clear of kRootLv and of
  // overflow in sums.
  static constexpr uint64_t kMaxOps = (uint64_t{1} << 31) - 1;
  // What Apply() holds back while dependencies are missing, at most.
  static constexpr size_t kMaxPendingChanges = 10000;
  static constexpr size_t kMaxPendingBytes = size_t{64} << 20;

  explicit DocState(AgentId agent) : agent_(agent) {}

  AgentId agent() const { return agent_; }
  const History& history() const { return history_; }
  const SpanTree& tree() const { return tree_; }

  Change Insert(uint32_t pos, std::string_view utf8);
  Change Remove(uint32_t pos, uint32_t len);
  // The same without building a Change. `n`: code points of utf8 (> 0).
  void LocalInsert(uint32_t pos, std::string_view utf8, uint32_t n, Lv* origin_left,
                   Lv* origin_right);
  // Adds the delete ops to *change when it is not nullptr.
  void LocalRemove(uint32_t pos, uint32_t len, Change* change);

  // Integrates a remote change; adds its patch (and that of any held-back
  // change it unblocks) to *patch when patch != nullptr.
  Status Apply(const Change& change, ot::TextOp* patch);
  std::vector<Change> ChangesSince(const Version& version) const;
  Status Merge(const DocState& other);

  // Integration by LV, for Apply and for decoding. `parents` are sorted
  // LVs < history().size(); origins and targets are known inserts (or
  // kRootLv origins). Each returns the ops' patch through *patch (may be
  // nullptr).
  void IntegrateInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv origin_left,
                       Lv origin_right, std::string_view text, bool ascii,
                       std::vector<ot::TextOp>* patches);
  void IntegrateDelete(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv target,
                       bool backward, std::vector<ot::TextOp>* patches);
  History& mutable_history() { return history_; }
  SpanTree& mutable_tree() { return tree_; }
  // InvalidArgument unless the left origin lies before the right one.
  // REQUIRES: both are known inserts or kRootLv.
  Status CheckOriginOrder(Lv origin_left, Lv origin_right) const;

  Version GetVersion() const;
  Frontier GetFrontier() const;
  std::vector<Id> MissingDependencies() const;
  size_t PendingCount() const { return pending_.size(); }

  std::string Text() const;
  size_t MemoryUsage() const;
  void CheckInvariants() const;

 private:
  enum class Readiness { kReady, kDuplicate, kMissing };
  Readiness CheckReady(const Change& change, uint64_t len) const;  // len: its ops.
  // Validates and integrates a ready change. On error nothing changed.
  Status Integrate(const Change& change, std::vector<ot::TextOp>* patches);
  Status HoldBack(const Change& change, uint64_t len);
  void DrainPending(std::vector<ot::TextOp>* patches);
  uint32_t LocalAgent();
  Change NewChange();  // Id and parents for the next local change.
  Cursor FindInsertPlace(Lv origin_left, Lv origin_right, AgentId agent, uint64_t seq) const;
  uint32_t RawPosOf(Lv lv) const;
  std::vector<Id> IdsOf(const std::vector<Lv>& lvs) const;

  AgentId agent_;
  int local_agent_ = -1;  // agent_'s index in history_, once it has one.
  History history_;
  SpanTree tree_;

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

  struct Pending {
    Change change;
    uint64_t len;  // Its ops, counted once.
    size_t bytes;  // What it holds in memory (for the limit).
  };
  std::vector<Pending> pending_;  // In (agent, seq) order.
  size_t pending_bytes_ = 0;
  std::vector<Lv> scratch_parents_;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_DOC_STATE_H_
