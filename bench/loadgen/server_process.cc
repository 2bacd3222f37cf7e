#include "bench/loadgen/server_process.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace quire::loadgen {
namespace {

double Ticks() {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return ticks;
}

}  // namespace

bool SampleProcess(pid_t pid, ProcSample* out) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  // The command name (field 2) may hold spaces; fields after it are plain.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
  if (f.size() < 18) return false;
  out->user_s = std::stod(f[11]) / Ticks();
  out->system_s = std::stod(f[12]) / Ticks();
  out->threads = std::stoi(f[17]);
  std::ifstream statm(dir + "/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return false;
  out->rss_bytes = resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return true;
}

ProcSample SampleSelf() {
  ProcSample s;
  SampleProcess(::getpid(), &s);
  return s;
}

uint64_t RaiseFileLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur;
}

ServerProcess::~ServerProcess() { Stop(); }

Status ServerProcess::Start(const std::string& binary, const std::string& data,
                            const std::string& durability, const std::vector<std::string>& extra) {
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  const std::string port_file = data + "/loadgen.port";
  std::filesystem::remove(port_file, ec);
  std::vector<std::string> argv = {binary,       "--address",    "127.0.0.1", "--port", "0",
                                   "--data",     data,           "--durability", durability,
                                   "--port-file", port_file};
  // The server's default limits guard a public deployment; the scenarios
  // exceed them on purpose (thousands of connections from one address,
  // 1,600 clients in a room, seeders writing as fast as acks come back),
  // so they are lifted here unless `extra` sets them.
  const std::vector<std::pair<std::string, std::string>> lifted = {
      {"--max-conns-per-ip", "0"},          {"--max-clients-per-room", "1000000"},
      {"--user-edits-per-s", "1000000000"}, {"--user-edits-burst", "1000000000"},
      {"--user-bytes-per-s", "1e12"},       {"--user-bytes-burst", "1e12"},
      {"--idle-timeout-ms", "0"}};
  for (const auto& [flag, value] : lifted) {
    const bool given = std::any_of(extra.begin(), extra.end(), [&](const std::string& a) {
      return a == flag || a.rfind(flag + "=", 0) == 0;
    });
    if (!given) argv.insert(argv.end(), {flag, value});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) return Status(StatusCode::kIoError, "fork failed");
  if (pid == 0) {
    // The server's output goes to a log next to its data, not the table.
    const std::string log = data + "/server.log";
    if (std::freopen(log.c_str(), "a", stdout) != nullptr) {
      ::dup2(::fileno(stdout), ::fileno(stderr));
    }
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  pid_ = pid;
  owned_ = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    unsigned port = 0;
    if (in >> port && port != 0) {
      port_ = static_cast<uint16_t>(port);
      return Status::Ok();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      owned_ = false;
      return Status(StatusCode::kInternal, binary + " exited at start; see " + data + "/server.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop(1);
  return Status(StatusCode::kInternal, binary + " did not listen within 30 s");
}

void ServerProcess::Attach(pid_t pid, uint16_t port) {
  pid_ = pid;
  port_ = port;
  owned_ = false;
}

int ServerProcess::Stop(double grace_s) {
  if (!owned_ || pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(grace_s * 1000));
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (r < 0 || std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  owned_ = false;
  return status < 0 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

}  // namespace quire::loadgen
