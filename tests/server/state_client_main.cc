// A client process for the restart tests: it loads its state file, opens
// one CRDT document, optionally types, and then either waits until
// everything is acked (exit 0) or hangs until it is killed.
//
//   state_client PORT STATE_FILE DOC [--insert TEXT] [--wait-synced | --hang]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "client/client.h"
#include "tests/server/io_thread.h"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc < 4) {
    std::fprintf(stderr, "usage: state_client PORT STATE_FILE DOC [--insert TEXT] [--wait-synced|--hang]\n");
    return 2;
  }
  quire::client::ClientOptions o;
  o.port = static_cast<uint16_t>(std::stoi(argv[1]));
  o.state_file = argv[2];
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  quire::test::IoThread io;
  quire::client::Client c(io.io(), o);
  if (quire::Status s = c.Load(); !s.ok()) {
    std::fprintf(stderr, "load: %s\n", s.ToString().c_str());
    return 1;
  }
  c.Start();
  const uint16_t ch = c.Open(argv[3], quire::server::Mode::kCrdt);
  for (int i = 4; i < argc; ++i) {
    if (std::strcmp(argv[i], "--insert") == 0 && i + 1 < argc) {
      if (quire::Status s = c.Insert(ch, 0, argv[++i]); !s.ok()) {
        std::fprintf(stderr, "insert: %s\n", s.ToString().c_str());
        return 1;
      }
      std::printf("inserted\n");
      std::fflush(stdout);
    } else if (std::strcmp(argv[i], "--wait-synced") == 0) {
      const bool ok = c.WaitFor(ch, [](const quire::client::DocStatus& s) { return s.synced; }, 30s);
      c.Stop();
      return ok ? 0 : 1;
    } else if (std::strcmp(argv[i], "--hang") == 0) {
      for (;;) std::this_thread::sleep_for(1s);
    }
  }
  c.Stop();
  return 0;
}
