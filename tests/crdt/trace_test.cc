// Replays every editing trace in ../shared/traces through the CRDT
// (tools::Replay) and checks the text a user would see: the final text is
// the trace's endContent exactly, on the editing replica, on a replica that
// received every change remotely, after Encode/Decode and after a merge
// into an empty replica. Also checks the trace loader's errors and the
// causal-graph build on a small hand-made concurrent trace.
#include "tools/trace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "crdt/text_doc.h"
#include "tools/replay.h"

namespace quire::tools {
namespace {

namespace fs = std::filesystem;

// "" when equal; else where they first differ (the texts are too long to print).
std::string Difference(const std::string& got, const std::string& want) {
  if (got == want) return "";
  const size_t at = static_cast<size_t>(
      std::mismatch(got.begin(), got.end(), want.begin(), want.end()).first - got.begin());
  return "first difference at byte " + std::to_string(at) + " of " + std::to_string(got.size()) +
         " (want " + std::to_string(want.size()) + " bytes); got \"" + got.substr(at, 40) +
         "\", want \"" + want.substr(at, 40) + "\"";
}

std::vector<std::string> TracePaths() {
  std::vector<std::string> paths;
  for (const char* dir : {"sequential", "concurrent"}) {
    const fs::path root = fs::path(QUIRE_TRACES_DIR) / dir;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
      if (e.path().string().ends_with(".json.gz")) paths.push_back(e.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(TraceFilesTest, BothKindsArePresent) {
  const std::vector<std::string> paths = TracePaths();
  EXPECT_GE(paths.size(), 5u) << "traces directory: " << QUIRE_TRACES_DIR;
  auto has = [&](const std::string& part) {
    return std::any_of(paths.begin(), paths.end(),
                       [&](const std::string& p) { return p.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has("/sequential/automerge-paper.json.gz"));
  EXPECT_TRUE(has("/concurrent/friendsforever.json.gz"));
}

class TraceReplayTest : public testing::TestWithParam<std::string> {};

TEST_P(TraceReplayTest, FinalTextIsEndContentEverywhere) {
  Result<Trace> trace = LoadTrace(GetParam());
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  ASSERT_FALSE(trace->end_content.empty());
  EXPECT_EQ(trace->concurrent, GetParam().find("/concurrent/") != std::string::npos);

  ReplayOptions opts;
  opts.check_invariants = true;
  Result<ReplayReport> report = Replay(*trace, opts);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->problem, "");
  EXPECT_EQ(Difference(report->final_text, trace->end_content), "");
  EXPECT_EQ(report->kind, trace->concurrent ? "concurrent" : "sequential");
  EXPECT_EQ(report->patches, trace->PatchCount());
  EXPECT_GT(report->encoded_bytes, 0u);
}

TEST_P(TraceReplayTest, DecodeOfEncodeGivesTheSameText) {
  Result<Trace> trace = LoadTrace(GetParam());
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  std::optional<crdt::TextDoc> doc;
  if (trace->concurrent) {
    Result<crdt::TextDoc> built = BuildConcurrent(*trace);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    doc.emplace(std::move(*built));
  } else {
    doc.emplace(ReplayLocal(*trace, nullptr));
  }
  ASSERT_EQ(Difference(doc->Text(), trace->end_content), "");

  const std::string bytes = doc->Encode();
  Result<crdt::TextDoc> decoded = crdt::TextDoc::Decode(bytes, crdt::AgentId{7});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  decoded->CheckInvariants();
  EXPECT_EQ(Difference(decoded->Text(), trace->end_content), "");
  EXPECT_EQ(decoded->size(), doc->size());
  // The decoded document holds the whole history, not only the text.
  EXPECT_TRUE(decoded->GetVersion() == doc->GetVersion());
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = TraceName(info.param);
  if (info.param.find("/concurrent/") != std::string::npos) name = "concurrent_" + name;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(SharedTraces, TraceReplayTest, testing::ValuesIn(TracePaths()), TestName);

// Two agents edit concurrently at different places, then each merges the
// other's work and edits again.
Trace SmallConcurrentTrace() {
  Trace t;
  t.concurrent = true;
  t.num_agents = 2;
  t.txns = {
      {{}, 0, {{0, 0, "hello world"}}},           // 0: "hello world"
      {{0}, 0, {{5, 0, ","}}},                    // 1: "hello, world" (agent 0)
      {{0}, 1, {{11, 0, "!"}}},                   // 2: "hello world!" (agent 1, concurrent with 1)
      {{1, 2}, 1, {{0, 0, "> "}}},                // 3: "> hello, world!"
      {{3}, 0, {{2, 5, "HELLO"}, {14, 1, "?"}}},  // 4: "> HELLO, world?"
      {{4}, 1, {{0, 2, ""}, {12, 0, "…"}}},       // 5: "HELLO, world…?"
  };
  t.end_content = "HELLO, world…?";
  return t;
}

TEST(ReplayTest, ConcurrentTraceMergesAlongItsGraph) {
  const Trace trace = SmallConcurrentTrace();
  ReplayOptions opts;
  opts.check_invariants = true;
  Result<ReplayReport> report = Replay(trace, opts);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->final_text, "HELLO, world…?");
  EXPECT_EQ(report->final_chars, 14u);
  EXPECT_EQ(report->patches, 8u);
}

TEST(ReplayTest, WrongEndContentIsReportedNotHidden) {
  Trace trace;
  trace.txns = {{{}, 0, {{0, 0, "abc"}}}, {{}, 0, {{1, 1, "X"}}}};
  trace.end_content = "abc";  // The real result is "aXc".
  Result<ReplayReport> report = Replay(trace);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->final_text, "aXc");
  EXPECT_NE(report->problem.find("final text"), std::string::npos) << report->problem;
}

TEST(ReplayTest, PatchPastTheEndIsInvalidArgument) {
  Trace sequential;
  sequential.txns = {{{}, 0, {{0, 0, "ab"}, {1, 2, ""}}}};
  sequential.end_content = "a";
  EXPECT_EQ(Replay(sequential).status().code(), StatusCode::kInvalidArgument);

  Trace concurrent = SmallConcurrentTrace();
  concurrent.txns[2].patches[0].pos = 13;  // Agent 1 sees only "hello world".
  Result<ReplayReport> report = Replay(concurrent);
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("txns[2]"), std::string::npos)
      << report.status().message();
}

class LoadTraceTest : public testing::Test {
 protected:
  // Writes `json` to a file of this test and returns its path. Plain, not
  // gzipped: LoadTrace reads both, and the shared traces cover gzip.
  std::string Write(const std::string& json) {
    const std::string path =
        (fs::temp_directory_path() / ("quire_trace_test_" + std::to_string(::getpid()) + "_" +
                                      std::to_string(files_.size()) + ".json"))
            .string();
    std::ofstream(path, std::ios::binary) << json;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& f : files_) fs::remove(f);
  }
  std::vector<std::string> files_;
};

TEST_F(LoadTraceTest, ReadsBothFormats) {
  Result<Trace> seq = LoadTrace(Write(
      R"({"startContent":"","endContent":"hé!","txns":[{"time":"x","patches":[[0,0,"hé"],[2,0,"!"]]}]})"));
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_FALSE(seq->concurrent);
  ASSERT_EQ(seq->txns.size(), 1u);
  ASSERT_EQ(seq->txns[0].patches.size(), 2u);
  EXPECT_EQ(seq->txns[0].patches[1].pos, 2u);
  EXPECT_EQ(seq->txns[0].patches[0].ins, "hé");

  Result<Trace> conc = LoadTrace(Write(
      R"({"kind":"concurrent","endContent":"ab","numAgents":2,"txns":[
          {"parents":[],"numChildren":1,"agent":0,"patches":[[0,0,"a"]]},
          {"parents":[0],"numChildren":0,"agent":1,"patches":[[1,0,"b"]]}]})"));
  ASSERT_TRUE(conc.ok()) << conc.status().ToString();
  EXPECT_TRUE(conc->concurrent);
  EXPECT_EQ(conc->num_agents, 2);
  EXPECT_EQ(conc->txns[1].parents, std::vector<uint32_t>{0});
  EXPECT_EQ(conc->txns[1].agent, 1u);
  Result<ReplayReport> report = Replay(*conc);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(LoadTraceTest, MissingFileIsIoError) {
  Result<Trace> t = LoadTrace("/nonexistent/dir/trace.json.gz");
  EXPECT_EQ(t.status().code(), StatusCode::kIoError);
  EXPECT_NE(t.status().message().find("/nonexistent/dir/trace.json.gz"), std::string::npos);
}

TEST_F(LoadTraceTest, BadContentIsInvalidArgumentNamingThePlace) {
  struct Case {
    const char* json;
    const char* mentions;
  };
  const Case cases[] = {
      {R"({"endContent":"a","txns":[)", "not valid JSON"},
      {R"([1,2])", "object"},
      {R"({"txns":[]})", "endContent"},
      {R"({"endContent":"","txns":{}})", "txns"},
      {R"({"endContent":"","txns":[{"patches":[[0,0]]}]})", "txns[0].patches[0]"},
      {R"({"endContent":"","txns":[{"patches":[[-1,0,"a"]]}]})", "pos"},
      {R"({"endContent":"","txns":[{"patches":[[0,0,"a"]]},{"patches":[[0,2,""]]}]})",
       "txns[1].patches[0]"},
      {R"({"startContent":"x","endContent":"","txns":[]})", "startContent"},
      {R"({"kind":"other","endContent":"","txns":[]})", "kind"},
      {R"({"kind":"concurrent","endContent":"","txns":[]})", "numAgents"},
      {R"({"kind":"concurrent","endContent":"","numAgents":1,"txns":[{"parents":[0],"agent":0,"patches":[]}]})",
       "parent 0"},
      {R"({"kind":"concurrent","endContent":"","numAgents":1,"txns":[{"parents":[],"agent":1,"patches":[]}]})",
       "agent 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    Result<Trace> t = LoadTrace(Write(c.json));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << t.status().ToString();
    EXPECT_NE(t.status().message().find(c.mentions), std::string::npos) << t.status().ToString();
  }
}

TEST(TraceNameTest, StripsDirectoryAndSuffixes) {
  EXPECT_EQ(TraceName("/a/b/automerge-paper.json.gz"), "automerge-paper");
  EXPECT_EQ(TraceName("x.json"), "x");
  EXPECT_EQ(TraceName("plain"), "plain");
}

}  // namespace
}  // namespace quire::tools
