// The quire-server a load run measures: one this tool starts itself (and
// stops, by its PID) or one it is told about by PID. Samples its CPU time
// and resident memory from /proc.
//
// Thread safety: none; the controlling thread uses it.
#ifndef QUIRE_BENCH_LOADGEN_SERVER_PROCESS_H_
#define QUIRE_BENCH_LOADGEN_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace quire::loadgen {

struct ProcSample {
  double user_s = 0;       // CPU time in user mode (utime), seconds.
  double system_s = 0;     // In the kernel (stime).
  uint64_t rss_bytes = 0;  // Resident set (VmRSS).
  int threads = 0;
  double cpu_s() const { return user_s + system_s; }
};

// Reads /proc/PID/stat and /proc/PID/statm. false when the process is gone.
bool SampleProcess(pid_t pid, ProcSample* out);
// This process (the load generator itself).
ProcSample SampleSelf();

// Raises this process's soft RLIMIT_NOFILE to its hard limit and returns
// the new soft limit.
uint64_t RaiseFileLimit();

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();  // Stops a server it started.
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `binary` on 127.0.0.1, a free port, the data directory `data`
  // (created if missing), `--durability durability`, its per-address,
  // per-room, per-user and idle limits lifted (unless `extra` sets them),
  // plus `extra` flags, and waits (at most 30 s) until it listens.
  Status Start(const std::string& binary, const std::string& data, const std::string& durability,
               const std::vector<std::string>& extra);
  // A server that is already running: sampled, never stopped.
  void Attach(pid_t pid, uint16_t port);
  // SIGTERM, then SIGKILL after `grace_s`; only a server it started.
  // Returns its exit status (-1: killed or not ours).
  int Stop(double grace_s = 20);

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  bool started_here() const { return owned_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool owned_ = false;
};

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_SERVER_PROCESS_H_
