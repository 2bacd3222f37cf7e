// An io_context running on its own thread, for clients in tests and test
// tools, and the seed of a randomized test.
#ifndef QUIRE_TESTS_SERVER_IO_THREAD_H_
#define QUIRE_TESTS_SERVER_IO_THREAD_H_

#include <cstdio>
#include <cstdlib>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace quire::test {

// An io_context on its own thread for clients.
class IoThread {
 public:
  IoThread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// The seed of a randomized test: QUIRE_SEED or a fixed default, printed.
inline uint64_t Seed(uint64_t fallback) {
  const char* env = std::getenv("QUIRE_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
  std::printf("seed: %llu (QUIRE_SEED=%llu reproduces it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_IO_THREAD_H_
