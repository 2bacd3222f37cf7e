// `quire replay FILE.json.gz [--json]`: replays an editing trace through the
// CRDT (tools/replay.h), checks the final text against the trace's and
// prints what each phase cost.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/command.h"
#include "tools/replay.h"
#include "tools/trace.h"

namespace quire::tools {
namespace {

constexpr std::string_view kReplayDescription =
    "Replays an editing trace (josephg/editing-traces format, gzipped JSON)\n"
    "through the CRDT and checks that the final text equals its endContent.\n"
    "Sequential traces: every patch is a local edit; then every change made\n"
    "is applied to a second replica (remote apply). Concurrent traces: one\n"
    "replica per agent, merged along the trace's causal graph. Then the final\n"
    "document is encoded, decoded (load) and merged into an empty replica.\n\n"
    "  --json   print one JSON object: ok, kind, patches, final_chars,\n"
    "           replay_ms, encode_ms, encoded_bytes, load_ms, merge_ms,\n"
    "           remote_apply_ms, peak_rss_kb, and replay_changes_ms,\n"
    "           merge_diverged_ms, doc_memory_bytes, loaded_memory_bytes\n"
    "Exit status 1: the text differs.\n";

double RoundMs(double ms) { return std::round(ms * 1000) / 1000; }

// 1234567 -> "1,234,567".
std::string Grouped(unsigned long long n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void PrintJson(const ReplayReport& r) {
  nlohmann::ordered_json j;
  j["ok"] = r.ok;
  j["kind"] = r.kind;
  j["patches"] = r.patches;
  j["final_chars"] = r.final_chars;
  j["replay_ms"] = RoundMs(r.replay_ms);
  j["encode_ms"] = RoundMs(r.encode_ms);
  j["encoded_bytes"] = r.encoded_bytes;
  j["load_ms"] = RoundMs(r.load_ms);
  j["merge_ms"] = RoundMs(r.merge_ms);
  j["remote_apply_ms"] = RoundMs(r.remote_apply_ms);
  j["peak_rss_kb"] = r.peak_rss_kb;
  j["replay_changes_ms"] = RoundMs(r.replay_changes_ms);
  j["merge_diverged_ms"] = RoundMs(r.merge_diverged_ms);
  j["doc_memory_bytes"] = r.memory_bytes;
  j["loaded_memory_bytes"] = r.loaded_memory_bytes;
  if (!r.problem.empty()) j["problem"] = r.problem;
  std::cout << j.dump() << "\n";
}

void PrintSummary(const std::string& name, const ReplayReport& r) {
  auto line = [](const char* what, double ms, const std::string& note) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "  %-14s %10.3f ms", what, ms);
    std::cout << buf << (note.empty() ? "" : "   " + note) << "\n";
  };
  std::cout << name << " (" << r.kind << "): " << Grouped(r.patches) << " patches -> "
            << Grouped(r.final_chars)
            << " code points: " << (r.ok ? "OK, matches endContent" : "FAILED") << "\n";
  line(r.kind == "concurrent" ? "causal build" : "local replay", r.replay_ms,
       r.kind == "concurrent" ? "one replica per agent, merged along the graph" : "");
  if (r.kind == "sequential") {
    line("with changes", r.replay_changes_ms, "the same, each edit returning its Change");
    line("remote apply", r.remote_apply_ms, "every change, in order, into a fresh replica");
  }
  line("encode", r.encode_ms, Grouped(r.encoded_bytes) + " bytes");
  line("load", r.load_ms, "decode + text");
  line("merge", r.merge_ms, "into an empty replica (takes the state whole)");
  line("merge", r.merge_diverged_ms, "into a replica with an edit of its own (integrates all)");
  std::cout << "  memory         " << Grouped(r.memory_bytes) << " bytes (final document), "
            << Grouped(r.loaded_memory_bytes) << " bytes (decoded)\n"
            << "  peak RSS       " << Grouped(static_cast<unsigned long long>(r.peak_rss_kb))
            << " kB (whole process, parsed trace included)\n";
}

int RunReplay(const std::string& path, bool json);

}  // namespace

Runner AddReplay(CLI::App& cmd) {
  struct Args {
    std::string path;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd.description(std::string(kReplayDescription));
  cmd.add_option("FILE", a->path, "the trace (.json or .json.gz)")->required();
  cmd.add_flag("--json", a->json, "print one JSON object instead of a table");
  return [a] { return RunReplay(a->path, a->json); };
}

namespace {

int RunReplay(const std::string& path, bool json) {
  Result<Trace> trace = LoadTrace(path);
  if (!trace.ok()) return UsageError(trace.status().ToString());
  Result<ReplayReport> report = Replay(*trace);
  if (!report.ok()) {
    // Only a trace that does not fit its own graph gets here.
    return UsageError(
        Status(report.status().code(), path + ": " + report.status().message()).ToString());
  }

  if (json) {
    PrintJson(*report);
  } else {
    PrintSummary(TraceName(path), *report);
  }
  if (!report->ok) {
    std::cerr << "quire: " << TraceName(path) << ": " << report->problem << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace
}  // namespace quire::tools
