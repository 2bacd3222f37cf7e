// quire-loadgen: load scenarios against quire-server (docs/benchmarks.md,
// "Server"). It starts the built server itself (127.0.0.1, a free port,
// its own data directory, `--durability sync` unless told otherwise) and
// stops it by PID at the end, or measures one it is told about.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/loadgen/report.h"
#include "bench/loadgen/scenarios.h"
#include "bench/loadgen/server_process.h"

namespace {

using namespace quire::loadgen;

std::string DefaultServerBinary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path().parent_path() / "server" / "quire-server").string();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.server_binary = DefaultServerBinary();
  std::string json_path;
  int attach_pid = 0;
  CLI::App app{"quire-loadgen: load scenarios against quire-server"};
  app.add_option("--scenario", o.scenario,
                 "S1 (1 room x 50 clients), S2 (100 rooms x 5), S3 (one room, growing to the knee), "
                 "S4 (idle connections), S5 (presence), S6 (cold opens), custom")
      ->required();
  app.add_option("--clients", o.clients, "custom/S5: clients")->capture_default_str();
  app.add_option("--rooms", o.rooms, "custom/S4: rooms (documents)")->capture_default_str();
  app.add_option("--rate", o.rate, "Keystrokes (S5: cursor moves) per second per client")
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "Typing time of a run (S3: of each step)")
      ->capture_default_str();
  app.add_option("--ot-fraction", o.ot_fraction, "Share of typists in OT mode")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--burst", o.burst, "Every typist types at the same instants (default: spread)");
  app.add_option("--threads", o.threads, "Load generator threads")->capture_default_str();
  app.add_option("--settle-timeout", o.settle_timeout_s,
                 "Seconds to wait after typing for every ack and delivery")
      ->capture_default_str();
  app.add_option("--steps", o.steps, "S3: clients at each step")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--knee-ms", o.knee_ms, "S3: stop at the first step with p99 above this")
      ->capture_default_str();
  app.add_option("--connections", o.connections, "S4: idle connections")->capture_default_str();
  app.add_option("--docs", o.docs, "S6: stored documents")->capture_default_str();
  app.add_option("--doc-bytes", o.doc_bytes, "S6: bytes of text per document")
      ->capture_default_str();
  app.add_option("--change-bytes", o.change_bytes, "S6: bytes per stored change")
      ->capture_default_str();
  app.add_option("--open-mode", o.open_mode, "S6: crdt or ot")
      ->check(CLI::IsMember({"crdt", "ot"}))
      ->capture_default_str();
  app.add_option("--server-bin", o.server_binary, "quire-server to start")->capture_default_str();
  app.add_option("--data", o.data_dir, "Its data directory (default: a new temporary one)");
  app.add_option("--durability", o.durability, "Its --durability")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str();
  app.add_option("--server-arg", o.server_args, "An extra flag for the server (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--attach-pid", attach_pid, "Measure this running server instead");
  app.add_option("--attach-port", o.attach_port, "...listening on this port");
  app.add_option("--json", json_path, "Write the results here");
  CLI11_PARSE(app, argc, argv);
  o.clients_given = app.count("--clients") > 0;
  o.rate_given = app.count("--rate") > 0;
  if (attach_pid != 0 && o.attach_port == 0) {
    std::cerr << "--attach-pid needs --attach-port\n";
    return 2;
  }
  o.attach_pid = attach_pid;
  std::printf("quire-loadgen: open files limit %llu\n",
              static_cast<unsigned long long>(RaiseFileLimit()));

  ScenarioOutput out = RunScenario(o);
  if (!json_path.empty()) {
    std::ofstream(json_path) << out.json.dump(2) << "\n";
    std::printf("quire-loadgen: wrote %s\n", json_path.c_str());
  }
  if (!out.error.empty()) {
    std::fprintf(stderr, "quire-loadgen: %s\n", out.error.c_str());
    return 1;
  }
  return out.ok ? 0 : 1;
}
