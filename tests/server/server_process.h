// Test helpers: a real quire-server process on 127.0.0.1 with an ephemeral
// port and its own data directory, which tests can SIGKILL, SIGTERM and
// start again on the same data.
#ifndef QUIRE_TESTS_SERVER_SERVER_PROCESS_H_
#define QUIRE_TESTS_SERVER_SERVER_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/server/io_thread.h"

namespace quire::test {

// A fresh directory under the system's temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "quire-server-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  // `args` are extra flags for quire-server.
  explicit ServerProcess(std::string data_dir, std::vector<std::string> args = {})
      : data_dir_(std::move(data_dir)), args_(std::move(args)) {}
  ~ServerProcess() { Kill(); }
  // The server's stdout and stderr (its log) go to `path`, appended.
  void set_log_file(std::string path) { log_file_ = std::move(path); }

  // Starts the server (on `port`, or a free port when 0) and waits until
  // it listens. Returns false if it did not.
  bool Start(uint16_t port = 0) {
    const std::string port_file = data_dir_ + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> argv = {QUIRE_SERVER_BIN,  "--address", "127.0.0.1",
                                     "--port",          std::to_string(port),
                                     "--data",          data_dir_,
                                     "--port-file",     port_file};
    argv.insert(argv.end(), args_.begin(), args_.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!log_file_.empty()) {
        const int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> c;
      for (std::string& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      ::execv(c[0], c.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(port_file);
      if (in >> port_ && port_ != 0) return true;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // SIGKILL: a crash.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM; returns the exit status (-1 if it did not exit normally
  // within `timeout`, after which it is killed).
  int Terminate(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
    return -1;
  }

 private:
  std::string data_dir_;
  std::vector<std::string> args_;
  std::string log_file_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_SERVER_PROCESS_H_
