// Replays an editing trace through the CRDT and measures what it costs:
// the logic behind `quire replay`, the trace tests and the benchmarks.
//
// Sequential trace: every patch is a local edit of one TextDoc
// (AgentId{1}): Remove(pos, del) then Insert(pos, ins). The Changes those
// edits return are then applied one by one to a second, fresh replica, as
// a peer receiving every keystroke would.
//
// Concurrent trace: built natively from the causal graph. Each trace agent
// has its own replica (AgentId{agent + 1}). Before txn t runs on its agent's
// replica, the replica is brought to exactly the merge of t's parents by
// applying, in txn order, the recorded Changes of every ancestor of t it
// lacks; then t's patches run there as local edits and their Changes are
// recorded. The final document is a fresh replica that applied every
// recorded Change.
//
// Each timed phase times only what it names; loading and checking the
// trace happen before any timing starts.
//
// Thread safety: functions of their arguments only; may run concurrently
// on distinct arguments.
#ifndef QUIRE_TOOLS_REPLAY_H_
#define QUIRE_TOOLS_REPLAY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"
#include "crdt/change.h"
#include "crdt/text_doc.h"
#include "tools/trace.h"

namespace quire::tools {

struct ReplayOptions {
  // Sequential traces: apply every Change to a second replica (timed as
  // remote_apply_ms) and check that replica's text too.
  bool remote_apply = true;
  // Encode the final document, decode it and merge it into an empty
  // replica (timed as encode_ms, load_ms and merge_ms), checking that each
  // gives the same text.
  bool encode_load_merge = true;
  // Run CheckInvariants() on every document the replay made (tests).
  bool check_invariants = false;
};

struct ReplayReport {
  // The final text equals the trace's end_content, and so does every
  // other replica the replay made (remote, decoded, merged).
  bool ok = false;
  std::string problem;  // Empty when ok: the first thing that differed.
  std::string kind;     // "sequential" or "concurrent".
  size_t patches = 0;
  size_t final_chars = 0;  // Code points of the final text.

  // Milliseconds.
  // Sequential: every patch through LocalInsert/LocalRemove, an editor's
  // per-keystroke path. Concurrent: the whole causal build.
  double replay_ms = 0;
  // Sequential: the same edits through Insert/Remove, each returning its
  // Change (the Changes remote_apply_ms applies).
  double replay_changes_ms = 0;
  double encode_ms = 0;        // TextDoc::Encode() of the final document.
  double load_ms = 0;          // TextDoc::Decode() of those bytes, then Text().
  double merge_ms = 0;         // An empty replica's Merge() of the final document.
  // Merge() of the final document into a replica holding an edit of its
  // own (inserted and removed again), so no fast-forward: every op of the
  // history is integrated.
  double merge_diverged_ms = 0;
  double remote_apply_ms = 0;  // Sequential only: Apply() of every Change, in order.

  size_t encoded_bytes = 0;
  size_t memory_bytes = 0;         // TextDoc::MemoryUsage() of the final document.
  size_t loaded_memory_bytes = 0;  // TextDoc::MemoryUsage() of the decoded document.
  // Peak resident set of the whole process (getrusage ru_maxrss), so it
  // includes the parsed trace.
  long peak_rss_kb = 0;

  std::string final_text;
};

// Replays `trace` (see the file comment). InvalidArgument when the trace
// does not pass ValidateTrace() or, for a concurrent trace, when a patch
// does not fit its replica. A CRDT that fails (an Apply or Merge error, a
// text that differs) is reported with ok = false and a `problem`.
Result<ReplayReport> Replay(const Trace& trace, const ReplayOptions& opts = {});

// The building blocks, untimed, for benchmarks.

// Every patch of a sequential trace as a local edit of a new TextDoc
// (AgentId{1}); appends the Changes made to *changes when it is not null.
// REQUIRES: !trace.concurrent and ValidateTrace(trace) is OK.
crdt::TextDoc ReplayLocal(const Trace& trace, std::vector<crdt::Change>* changes);

// The final document of a concurrent trace, built from its causal graph.
// REQUIRES: trace.concurrent and ValidateTrace(trace) is OK.
// InvalidArgument when a patch does not fit its replica; Internal (with the
// txn) when the CRDT rejects one of its own Changes.
Result<crdt::TextDoc> BuildConcurrent(const Trace& trace);

}  // namespace quire::tools

#endif  // QUIRE_TOOLS_REPLAY_H_
