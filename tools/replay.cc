#include "tools/replay.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "base/utf8.h"

namespace quire::tools {
namespace {

using crdt::AgentId;
using crdt::Change;
using crdt::TextDoc;
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // Kilobytes on Linux.
}

Status InternalError(std::string message) {
  return Internal(std::move(message));
}

// Agents for replicas that make no edits of their own, above every agent
// the trace's replicas use.
AgentId MergeAgent(const Trace& trace) {
  return AgentId{std::max<uint64_t>(999, static_cast<uint64_t>(trace.num_agents) + 2)};
}
AgentId LoadAgent(const Trace& trace) { return AgentId{MergeAgent(trace).value + 1}; }

// "" when equal, else where `got` first differs from `want`.
std::string Diff(const std::string& what, const std::string& got, const std::string& want) {
  if (got == want) return "";
  const auto at = static_cast<size_t>(
      std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin());
  return what + " differs from endContent at byte " + std::to_string(at) + " (" +
         std::to_string(got.size()) + " bytes, want " + std::to_string(want.size()) + ")";
}

void Note(ReplayReport* report, std::string problem) {
  if (report->problem.empty()) report->problem = std::move(problem);
}

// Times Encode, Decode + Text and Merge into an empty replica of the final
// document, and checks that each gives the final text.
void MeasureEncodeLoadMerge(const Trace& trace, const TextDoc& doc, const ReplayOptions& opts,
                            ReplayReport* report) {
  Clock::time_point start = Clock::now();
  const std::string bytes = doc.Encode();
  report->encode_ms = MsSince(start);
  report->encoded_bytes = bytes.size();

  start = Clock::now();
  Result<TextDoc> loaded = TextDoc::Decode(bytes, LoadAgent(trace));
  std::string loaded_text;
  if (loaded.ok()) loaded_text = loaded->Text();
  report->load_ms = MsSince(start);
  if (!loaded.ok()) {
    Note(report, "Decode(Encode()) failed: " + loaded.status().ToString());
  } else {
    Note(report, Diff("decoded text", loaded_text, trace.end_content));
    if (opts.check_invariants) loaded->CheckInvariants();
  }

  if (loaded.ok()) report->loaded_memory_bytes = loaded->MemoryUsage();

  // Merges the final document into `into`, times it and checks the text.
  auto merge = [&](TextDoc& into, const std::string& what) {
    start = Clock::now();
    const Status status = into.Merge(doc);
    const double ms = MsSince(start);
    if (!status.ok()) {
      Note(report, "Merge into " + what + " failed: " + status.ToString());
    } else {
      Note(report, Diff("text merged into " + what, into.Text(), trace.end_content));
      if (opts.check_invariants) into.CheckInvariants();
    }
    return ms;
  };
  // One with an edit of its own (inserted and removed again) integrates
  // every op; an empty one takes the state whole.
  TextDoc diverged(AgentId{MergeAgent(trace).value + 2});
  diverged.Insert(0, "x");
  diverged.Remove(0, 1);
  report->merge_diverged_ms = merge(diverged, "a diverged replica");
  TextDoc empty(MergeAgent(trace));
  report->merge_ms = merge(empty, "an empty replica");
}

Result<ReplayReport> ReplaySequential(const Trace& trace, const ReplayOptions& opts) {
  ReplayReport report;
  report.kind = "sequential";
  report.patches = trace.PatchCount();

  Clock::time_point start = Clock::now();
  TextDoc doc = ReplayLocal(trace, nullptr);
  report.replay_ms = MsSince(start);

  report.final_text = doc.Text();
  report.final_chars = utf8::CountCodePoints(report.final_text);
  report.memory_bytes = doc.MemoryUsage();
  Note(&report, Diff("final text", report.final_text, trace.end_content));
  if (opts.check_invariants) doc.CheckInvariants();

  std::vector<Change> changes;
  changes.reserve(2 * report.patches);  // At most a Remove and an Insert each.
  start = Clock::now();
  {
    TextDoc with_changes = ReplayLocal(trace, &changes);
    report.replay_changes_ms = MsSince(start);
    Note(&report, Diff("text of the replay with changes", with_changes.Text(), trace.end_content));
  }

  if (opts.remote_apply) {
    TextDoc remote(AgentId{2});
    Status failed;
    size_t failed_at = 0;
    start = Clock::now();
    for (size_t i = 0; i < changes.size(); ++i) {
      Result<ot::TextOp> patch = remote.Apply(changes[i]);
      if (!patch.ok()) {
        failed = patch.status();
        failed_at = i;
        break;
      }
    }
    report.remote_apply_ms = MsSince(start);
    if (!failed.ok()) {
      Note(&report,
           "remote Apply of change " + std::to_string(failed_at) + " failed: " + failed.ToString());
    } else {
      Note(&report, Diff("remote replica's text", remote.Text(), trace.end_content));
      if (opts.check_invariants) remote.CheckInvariants();
    }
  }
  if (opts.encode_load_merge) MeasureEncodeLoadMerge(trace, doc, opts, &report);
  report.ok = report.problem.empty();
  report.peak_rss_kb = PeakRssKb();
  return report;
}

Result<ReplayReport> ReplayConcurrent(const Trace& trace, const ReplayOptions& opts) {
  ReplayReport report;
  report.kind = "concurrent";
  report.patches = trace.PatchCount();

  const Clock::time_point start = Clock::now();
  Result<TextDoc> doc = BuildConcurrent(trace);
  report.replay_ms = MsSince(start);
  if (!doc.ok()) {
    if (doc.status().code() != StatusCode::kInternal) return doc.status();
    report.problem = doc.status().message();
    report.peak_rss_kb = PeakRssKb();
    return report;
  }

  report.final_text = doc->Text();
  report.final_chars = utf8::CountCodePoints(report.final_text);
  report.memory_bytes = doc->MemoryUsage();
  Note(&report, Diff("final text", report.final_text, trace.end_content));
  if (opts.check_invariants) doc->CheckInvariants();
  if (opts.encode_load_merge) MeasureEncodeLoadMerge(trace, *doc, opts, &report);
  report.ok = report.problem.empty();
  report.peak_rss_kb = PeakRssKb();
  return report;
}

}  // namespace

TextDoc ReplayLocal(const Trace& trace, std::vector<Change>* changes) {
  TextDoc doc(AgentId{1});
  if (changes == nullptr) {
    for (const Txn& txn : trace.txns) {
      for (const Patch& p : txn.patches) {
        if (p.del > 0) doc.LocalRemove(p.pos, p.del);
        if (!p.ins.empty()) doc.LocalInsert(p.pos, p.ins);
      }
    }
    return doc;
  }
  for (const Txn& txn : trace.txns) {
    for (const Patch& p : txn.patches) {
      if (p.del > 0) {
        Change c = doc.Remove(p.pos, p.del);
        if (changes != nullptr) changes->push_back(std::move(c));
      }
      if (!p.ins.empty()) {
        Change c = doc.Insert(p.pos, p.ins);
        if (changes != nullptr) changes->push_back(std::move(c));
      }
    }
  }
  return doc;
}

Result<TextDoc> BuildConcurrent(const Trace& trace) {
  const size_t n = trace.txns.size();
  const size_t num_agents = static_cast<size_t>(trace.num_agents);
  std::vector<TextDoc> replicas;
  replicas.reserve(num_agents);
  for (size_t a = 0; a < num_agents; ++a) replicas.emplace_back(AgentId{a + 1});
  // applied[a][t]: replica a holds txn t's Changes. Always closed under
  // ancestors, so a search for what a replica lacks stops at applied txns.
  std::vector<std::vector<bool>> applied(num_agents, std::vector<bool>(n));
  std::vector<std::vector<Change>> changes(n);  // Made by each txn.

  std::vector<uint32_t> visited(n, 0);  // t + 1 once seen by txn t's search.
  std::vector<uint32_t> stack;
  std::vector<uint32_t> missing;
  for (size_t t = 0; t < n; ++t) {
    const Txn& txn = trace.txns[t];
    TextDoc& doc = replicas[txn.agent];
    std::vector<bool>& done = applied[txn.agent];
    const uint32_t stamp = static_cast<uint32_t>(t + 1);

    // The ancestors of t this replica lacks, applied oldest first: txn
    // indexes are a topological order, so each Change's parents come first.
    stack.assign(txn.parents.begin(), txn.parents.end());
    missing.clear();
    while (!stack.empty()) {
      const uint32_t x = stack.back();
      stack.pop_back();
      if (done[x] || visited[x] == stamp) continue;
      visited[x] = stamp;
      missing.push_back(x);
      stack.insert(stack.end(), trace.txns[x].parents.begin(), trace.txns[x].parents.end());
    }
    std::sort(missing.begin(), missing.end());
    for (const uint32_t x : missing) {
      for (const Change& c : changes[x]) {
        // No one displays these replicas: integrate without the patch.
        const Status status = doc.Integrate(c);
        if (!status.ok()) {
          return InternalError("txn " + std::to_string(t) + ": applying txn " + std::to_string(x) +
                               " on agent " + std::to_string(txn.agent) +
                               "'s replica failed: " + status.ToString());
        }
      }
      done[x] = true;
    }

    std::vector<Change>& made = changes[t];
    for (size_t i = 0; i < txn.patches.size(); ++i) {
      const Patch& p = txn.patches[i];
      if (uint64_t{p.pos} + p.del > doc.size()) {
        return InvalidArgument("txns[" + std::to_string(t) + "].patches[" + std::to_string(i) +
                               "]: pos " + std::to_string(p.pos) + " + del " +
                               std::to_string(p.del) +
                               " is past the end of the document it applies to (" +
                               std::to_string(doc.size()) + " code points)");
      }
      if (p.del > 0) made.push_back(doc.Remove(p.pos, p.del));
      if (!p.ins.empty()) made.push_back(doc.Insert(p.pos, p.ins));
    }
    done[t] = true;
  }

  // The final document: every replica merged into a new one.
  TextDoc final_doc(AgentId{num_agents + 1});
  for (size_t a = 0; a < num_agents; ++a) {
    const Status status = final_doc.Merge(replicas[a]);
    if (!status.ok()) {
      return InternalError("merging agent " + std::to_string(a) +
                           "'s replica into the final document failed: " + status.ToString());
    }
  }
  return final_doc;
}

Result<ReplayReport> Replay(const Trace& trace, const ReplayOptions& opts) {
  QUIRE_RETURN_IF_ERROR(ValidateTrace(trace));
  return trace.concurrent ? ReplayConcurrent(trace, opts) : ReplaySequential(trace, opts);
}

}  // namespace quire::tools
