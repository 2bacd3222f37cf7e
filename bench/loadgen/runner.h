// Runner carries out one load run: C typists over R rooms typing at a fixed
// rate for a while; then it waits for every acknowledgement and delivery,
// checks convergence (clients.h) and reports what it measured, the
// server's CPU and memory included.
//
// Thread safety: Run() is called from one controlling thread; it starts and
// joins its worker threads (one single-threaded io_context each).
#ifndef QUIRE_BENCH_LOADGEN_RUNNER_H_
#define QUIRE_BENCH_LOADGEN_RUNNER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "bench/loadgen/clients.h"
#include "bench/loadgen/server_process.h"

namespace quire::loadgen {

struct RunSpec {
  std::string label;
  int clients = 50;
  int rooms = 1;
  double rate = 5;      // Keystrokes per second per typist.
  double seconds = 30;  // Typing time.
  double ot_fraction = 0.5;  // Typists in OT mode; the rest CRDT.
  // All typists type at the same instants (phase 0) instead of spread
  // evenly over the period.
  bool burst = false;
  std::string doc_prefix = "load";
  int threads = 2;
  double settle_timeout_s = 60;
};

struct RunResult {
  RunSpec spec;
  bool ok = false;        // Everyone connected, settled and converged.
  std::string failure;    // Why not.
  double connect_s = 0;   // To get every client to `synced`.
  double typing_s = 0;    // The typing window.
  double measured_s = 0;  // From typing start until everything settled.
  uint64_t changes = 0;   // Accepted changes (sum of the rooms' heads).
  ThreadStats totals;
  ProcSample server_start, server_end;  // At typing start and once settled.
  ProcSample self_start, self_end;
  bool server_sampled = false;
};

class Runner {
 public:
  Runner(boost::asio::ip::tcp::endpoint server, pid_t server_pid)
      : server_(server), server_pid_(server_pid) {}
  RunResult Run(const RunSpec& spec);

 private:
  boost::asio::ip::tcp::endpoint server_;
  pid_t server_pid_;
};

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_RUNNER_H_
