// The load scenarios of docs/benchmarks.md ("Server"), selected by name:
//
//   S1  1 room x 50 typists x 5 keystrokes/s x 30 s, half OT, half CRDT
//   S2  100 rooms x 5 typists, same rate
//   S3  one room at 10, 50, 100, ... typists, until p99 delivery > 250 ms
//   S4  idle connections, each with one document open: server RSS per connection
//   S5  200 clients moving their cursors 20 times a second in one room
//   S6  cold opens of stored documents: open latency, memory per loaded document
//   custom  --clients/--rooms/--rate/--seconds as given
//
// Thread safety: RunScenario is called from main's thread.
#ifndef QUIRE_BENCH_LOADGEN_SCENARIOS_H_
#define QUIRE_BENCH_LOADGEN_SCENARIOS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace quire::loadgen {

class ServerProcess;

struct Options {
  std::string scenario;
  int clients = 50;
  int rooms = 1;
  double rate = 5;
  bool clients_given = false, rate_given = false;  // S5 has its own defaults.
  double seconds = 30;
  double ot_fraction = 0.5;
  bool burst = false;
  int threads = 2;
  double settle_timeout_s = 60;
  std::vector<int> steps = {10, 50, 100, 200, 400, 600, 800, 1000, 1200, 1600};
  double knee_ms = 250;
  int connections = 10000;   // S4
  int docs = 1000;           // S6
  int doc_bytes = 10240;     // S6
  int change_bytes = 100;    // S6
  std::string open_mode = "crdt";  // S6
  std::string server_binary;
  std::string data_dir;
  std::string durability = "sync";
  std::vector<std::string> server_args;
  pid_t attach_pid = 0;
  int attach_port = 0;
};

struct ScenarioOutput {
  bool ok = false;
  std::string error;  // The scenario could not run at all.
  nlohmann::json json;
};

ScenarioOutput RunScenario(const Options& options);

// Idle connections (S4) and cold opens (S6), in their own files.
struct ServerRef {
  pid_t pid = -1;
  uint16_t port = 0;
};
nlohmann::json RunIdleConnections(const Options& o, const ServerRef& server, bool* ok);
struct RunResult;
RunResult RunPresence(const Options& o, const ServerRef& server);
// S6 restarts the server it started (same data and flags) to open cold.
nlohmann::json RunColdOpens(const Options& o, ServerProcess* server, const std::string& data,
                            ServerRef* ref, bool* ok);

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_SCENARIOS_H_
