// PendingChanges holds changes that arrived before their dependencies,
// until those arrive. A change is held once per id (a copy with more ops
// replaces a shorter one; any other copy is dropped), and filed under the
// one op it waits for, so the Apply that completes nothing finds nothing
// to retry with one lookup, and the one that completes a change finds it
// without scanning the others.
//
// Thread safety: none (owned by one DocState).
#ifndef QUIRE_CRDT_INTERNAL_PENDING_H_
#define QUIRE_CRDT_INTERNAL_PENDING_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "crdt/change.h"

namespace quire::crdt::internal {

class PendingChanges {
 public:
  static constexpr size_t kMaxChanges = 10000;
  static constexpr size_t kMaxBytes = size_t{64} << 20;

  struct Entry {
    Change change;
    uint64_t len = 0;  // Its ops, counted once.
    size_t bytes = 0;  // What it holds in memory (for the limit).
    Id waits_for;      // Ready to retry once this op is known.
  };

  // Holds `entry` until entry.waits_for is known. A change with the same id
  // and at least as many ops already held makes this a no-op.
  // ResourceExhausted past kMaxChanges or kMaxBytes; nothing changes then.
  Status Add(Entry entry);
  // Moves out the changes waiting for an op of `agent` below `next_seq`, in
  // seq order of what they wait for.
  void TakeReady(AgentId agent, uint64_t next_seq, std::vector<Entry>* out);
  // Moves out everything.
  std::vector<Entry> TakeAll();

  size_t size() const { return by_id_.size(); }
  bool empty() const { return by_id_.empty(); }
  size_t bytes() const { return bytes_; }
  template <typename F>
  void ForEach(F&& f) const {  // f(const Entry&), in id order.
    for (const auto& [id, entry] : by_id_) f(entry);
  }

  static size_t BytesOf(const Change& change);

 private:
  void Unfile(const Entry& entry);

  std::map<Id, Entry> by_id_;
  // agent -> (seq waited for -> id of the waiting change).
  std::unordered_map<uint64_t, std::multimap<uint64_t, Id>> waiting_;
  size_t bytes_ = 0;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_PENDING_H_
