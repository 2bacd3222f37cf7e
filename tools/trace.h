// An editing trace: a real, keystroke-level editing history in the
// josephg/editing-traces format (gzipped JSON; ../shared/traces/README.md).
// Tools, tests and benchmarks replay traces through the CRDT.
//
// A sequential trace is a list of transactions, each a list of patches that
// apply in order to the empty document and produce `end_content`. A
// concurrent trace is a causal graph: transaction t applies to the merge of
// the states after its `parents` (all smaller indexes than t), as edits of
// agent `agent`.
//
// LoadTrace validates the file's shape and returns a Status for anything
// that does not fit; it never throws. A Trace it returns passes
// ValidateTrace().
//
// Thread safety: value types; LoadTrace may run concurrently.
#ifndef QUIRE_TOOLS_TRACE_H_
#define QUIRE_TOOLS_TRACE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/status.h"

namespace quire::tools {

// Removes `del` code points at code point `pos`, then inserts `ins` (UTF-8)
// there.
struct Patch {
  uint32_t pos = 0;
  uint32_t del = 0;
  std::string ins;
};

struct Txn {
  std::vector<uint32_t> parents;  // Concurrent traces only: earlier txn indexes.
  uint32_t agent = 0;             // Concurrent traces only: 0 <= agent < num_agents.
  std::vector<Patch> patches;     // Apply in order.
};

struct Trace {
  bool concurrent = false;
  std::string end_content;  // The text after every txn (UTF-8).
  int num_agents = 0;       // Concurrent traces only.
  std::vector<Txn> txns;

  size_t PatchCount() const;
};

// Reads and validates a gzipped (or plain) JSON trace. IoError when the
// file cannot be read; InvalidArgument, naming the txn and patch, when its
// content is not a valid trace.
Result<Trace> LoadTrace(const std::string& path);

// Checks what can be checked without a CRDT: valid UTF-8 everywhere; for a
// sequential trace, that every patch fits the document the earlier patches
// made; for a concurrent trace, 0 < num_agents, agent < num_agents, and
// parents are distinct indexes smaller than their txn's (so the txn order
// is a topological order of the graph). Whether a concurrent trace's
// patches fit is only known while replaying it.
Status ValidateTrace(const Trace& trace);

// The file name without its directory and ".json.gz" (or ".json"): the
// trace's name in reports, e.g. "automerge-paper".
std::string TraceName(const std::string& path);

}  // namespace quire::tools

#endif  // QUIRE_TOOLS_TRACE_H_
