// History is a document's op log, indexed by local version (LV): the
// inserted text, each op's kind and origins or targets, which agent and
// seq each LV is, and the causal graph. Everything is run-length encoded:
// a typed word is one OpRun, one AgentRun and (usually) part of one
// GraphEntry.
//
// Thread safety: none; const methods are safe concurrently.
#ifndef QUIRE_CRDT_INTERNAL_HISTORY_H_
#define QUIRE_CRDT_INTERNAL_HISTORY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crdt/id.h"
#include "crdt/internal/lv.h"

namespace quire::crdt::internal {

// Ops [lv, lv + len), all inserts or all deletes. Each kind has its own
// fields (`ins` or `del`); only the run's kind's are meaningful.
struct OpRun {
  enum Kind : uint8_t { kInsert = 0, kDelete = 1 };
  enum Flags : uint8_t { kBackward = 1, kNonAscii = 2 };
  struct InsertFields {
    Lv origin_left;   // Of the first op; each later op's is the op before it.
    Lv origin_right;  // Of every op.
    uint32_t content;           // Byte offset of the run's text in History::content().
    uint32_t first_checkpoint;  // kNonAscii runs: index of its first checkpoint.
  };
  struct DeleteFields {
    Lv target;  // What the first op deletes (see TargetAt()).
  };

  Lv lv;
  uint32_t len;
  uint8_t kind;
  uint8_t flags;
  union {
    InsertFields ins;
    DeleteFields del;
  };

  static OpRun Insert(Lv lv, uint32_t len, Lv origin_left, Lv origin_right) {
    OpRun r{};
    r.lv = lv;
    r.len = len;
    r.kind = kInsert;
    r.ins = InsertFields{origin_left, origin_right, 0, 0};
    return r;
  }
  static OpRun Delete(Lv lv, uint32_t len, Lv target, bool backward) {
    OpRun r{};
    r.lv = lv;
    r.len = len;
    r.kind = kDelete;
    r.flags = backward && len > 1 ? kBackward : 0;
    r.del = DeleteFields{target};
    return r;
  }
  bool is_insert() const { return kind == kInsert; }
  bool backward() const { return (flags & kBackward) != 0; }
  Lv end() const { return lv + len; }
  // kDelete: the LV deleted by op lv + k.
  Lv TargetAt(uint32_t k) const { return backward() ? del.target - k : del.target + k; }
  // kDelete: the lowest LV the run deletes (its targets are consecutive).
  Lv LowestTarget() const { return backward() ? del.target - (len - 1) : del.target; }
};

struct AgentRun {  // LVs [lv, lv + len) are seqs [seq, seq + len) of `agent`.
  Lv lv;
  uint32_t len;
  uint32_t agent;  // Index into agents().
  uint64_t seq;
};

struct GraphEntry {  // Op lv's parents are listed; each later op's parent is the op before.
  Lv lv;
  uint32_t len;
  uint32_t parents_start;  // Into parent_pool().
  uint32_t parents_count;
  // Op lv's parents were every head when it arrived: its causal past (and
  // each later op's) holds every op before it.
  bool closed = false;
};

struct AgentInfo {
  AgentId id;
  uint64_t next_seq = 0;
  std::vector<uint32_t> runs;  // Indexes into agent_runs(), in seq order.
};

class History {
 public:
  // Upper bounds of what each record takes in the encoding (varints of
  // 32-bit values take at most 5 bytes, of 64-bit ones 10): what
  // EncodedBytesBound() adds up.
  static constexpr uint64_t kAgentBytes = 10;
  static constexpr uint64_t kAgentRunBytes = 10;
  static constexpr uint64_t kGraphEntryBytes = 10;
  static constexpr uint64_t kParentBytes = 5;
  static constexpr uint64_t kOpRunBytes = 15;  // Kind and length, then origins or a target.

  Lv size() const { return next_lv_; }  // LVs so far.
  uint64_t inserted() const { return inserted_; }  // Insert ops (characters, deleted or not).

  // Agents.
  const std::vector<AgentInfo>& agents() const { return agents_; }
  // Index of `agent`, or -1.
  int FindAgent(AgentId agent) const;
  uint32_t AddAgent(AgentId agent);
  void ReserveAgents(size_t n) {
    agents_.reserve(n);
    agent_index_.reserve(n);
  }

  // Id <-> LV. LvOf: false when the op is not known.
  bool LvOf(const Id& id, Lv* lv) const;
  Id IdOf(Lv lv) const;  // REQUIRES: lv < size().
  Id IdOrRoot(Lv lv) const { return lv == kRootLv ? Id::Root() : IdOf(lv); }
  const AgentRun& AgentRunAt(Lv lv) const;

  // Ops. REQUIRES: lv < size().
  const OpRun& RunAt(Lv lv) const;
  bool IsInsert(Lv lv) const { return RunAt(lv).is_insert(); }
  // True when every LV in [lv, lv + len) is an insert.
  bool AllInserts(Lv lv, uint32_t len) const;
  Lv OriginLeft(Lv lv) const;   // REQUIRES: IsInsert(lv).
  Lv OriginRight(Lv lv) const;  // REQUIRES: IsInsert(lv).
  // UTF-8 text of the inserted characters [lv, lv + len).
  // REQUIRES: all inserts, consecutive LVs of inserts (no delete between).
  std::string_view Content(Lv lv, uint32_t len) const;
  // Appends Content(lv, len) to *out (one run lookup when it lies in one run).
  void AppendContent(Lv lv, uint32_t len, std::string* out) const;
  const std::string& content() const { return content_; }

  // The causal graph.
  const std::vector<GraphEntry>& graph() const { return graph_; }
  const std::vector<Lv>& parent_pool() const { return parent_pool_; }
  const std::vector<Lv>& frontier() const { return frontier_; }
  const GraphEntry& EntryAt(Lv lv) const;  // REQUIRES: lv < size().
  // Parents of op `lv` (written to *out, sorted).
  void ParentsOf(Lv lv, std::vector<Lv>* out) const;

  const std::vector<OpRun>& runs() const { return runs_; }
  const std::vector<AgentRun>& agent_runs() const { return agent_runs_; }

  // Records ops [size(), size() + len) of `agent` starting at its next seq,
  // made on `parents` (sorted LVs, all < size()). Returns the first LV.
  Lv AppendInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv origin_left,
                  Lv origin_right, std::string_view text, bool ascii);
  // AppendInsert() of `len` more characters typed right after the last op,
  // which was an ASCII insert by `agent` with the whole frontier as parents.
  // REQUIRES: what DocState's typing cache guarantees; `text` is ASCII.
  void ExtendAsciiInsert(uint32_t agent, uint32_t len, std::string_view text) {
    runs_.back().len += len;
    agent_runs_.back().len += len;
    agents_[agent].next_seq += len;
    graph_.back().len += len;
    frontier_[0] += len;
    next_lv_ += len;
    inserted_ += len;
    if (text.size() == 1) {
      content_.push_back(text[0]);  // Inline, where append() calls memcpy.
    } else {
      content_.append(text);
    }
  }
  Lv AppendDelete(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv target,
                  bool backward);

  // Fills an empty history with a decoded one (the decoder). The caller
  // added the agents and checked that agent runs, graph and op runs each
  // cover [0, N) in order with lengths > 0, and that parents, origins and
  // targets point back. Sets seqs, the frontier and each insert's text
  // (from `content`, in LV order); false when `content` holds another
  // number of code points than the inserts.
  bool Restore(std::vector<AgentRun> agent_runs, std::vector<GraphEntry> graph,
               std::vector<Lv> parent_pool, std::vector<OpRun> runs, std::string content);

  // An upper bound of what agents, agent runs, graph and op runs take in
  // the encoding, text included (the document order is DocState's).
  uint64_t EncodedBytesBound() const {
    return content_.size() + kAgentBytes * agents_.size() +
           kAgentRunBytes * agent_runs_.size() + kGraphEntryBytes * graph_.size() +
           kParentBytes * parent_pool_.size() + kOpRunBytes * runs_.size();
  }
  size_t MemoryUsage() const;

 private:
  Lv Append(uint32_t agent, const std::vector<Lv>& parents, uint32_t len);
  size_t RunIndex(Lv lv) const;
  void PushRun(const OpRun& run);
  static constexpr size_t kSampleEvery = 16;
  uint32_t ByteOffset(const OpRun& run, uint32_t k) const;  // Of op run.lv + k.
  void AddCheckpoints(OpRun& run, uint32_t from_len);

  Lv next_lv_ = 0;
  uint64_t inserted_ = 0;
  std::vector<AgentInfo> agents_;
  std::unordered_map<uint64_t, uint32_t> agent_index_;
  std::vector<AgentRun> agent_runs_;
  std::vector<OpRun> runs_;
  std::vector<Lv> run_sample_;  // runs_[16 * i].lv: RunIndex's first level.
  std::string content_;
  // For non-ASCII insert runs: byte offset (from ins.content) of every
  // 64th code point, so finding a character inside a long run is cheap.
  std::vector<uint32_t> checkpoints_;
  std::vector<GraphEntry> graph_;
  std::vector<Lv> parent_pool_;
  std::vector<Lv> frontier_;
  // Lookup hints, written by const lookups: relaxed atomics, so const
  // methods stay safe to call concurrently (any value is a valid guess).
  class Hint {
   public:
    Hint() = default;
    Hint(const Hint& o) : v_(o.get()) {}
    Hint& operator=(const Hint& o) {
      set(o.get());
      return *this;
    }
    size_t get() const { return v_.load(std::memory_order_relaxed); }
    void set(size_t v) const { v_.store(v, std::memory_order_relaxed); }

   private:
    mutable std::atomic<size_t> v_{0};
  };
  Hint last_run_;
  Hint last_agent_;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_HISTORY_H_
