#include "bench/loadgen/scenarios.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <boost/asio/ip/address.hpp>

#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/server_process.h"

namespace quire::loadgen {
namespace {

nlohmann::json Machine() {
  std::ifstream load("/proc/loadavg");
  double l1 = 0, l5 = 0, l15 = 0;
  load >> l1 >> l5 >> l15;
  utsname u{};
  ::uname(&u);
  return {{"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"kernel", std::string(u.release)},
          {"loadavg", {l1, l5, l15}}};
}

RunSpec BaseSpec(const Options& o, std::string label) {
  RunSpec s;
  s.label = std::move(label);
  s.clients = o.clients;
  s.rooms = o.rooms;
  s.rate = o.rate;
  s.seconds = o.seconds;
  s.ot_fraction = o.ot_fraction;
  s.burst = o.burst;
  s.threads = o.threads;
  s.settle_timeout_s = o.settle_timeout_s;
  // A name no earlier run used, so each run starts from empty documents.
  s.doc_prefix = s.label + "-" + std::to_string(::getpid()) + "-" + std::to_string(NowUs());
  for (char& c : s.doc_prefix) {
    if (c == ' ' || c == '=') c = '_';
  }
  return s;
}

std::vector<RunResult> RunTyping(const Options& o, const ServerRef& server, bool* ok) {
  Runner runner(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                               server.port),
                server.pid);
  std::vector<RunResult> runs;
  auto run = [&](RunSpec spec) {
    std::printf("quire-loadgen: %s: %d typists in %d rooms, %.1f keystrokes/s each, %.0f s\n",
                spec.label.c_str(), spec.clients, spec.rooms, spec.rate, spec.seconds);
    std::fflush(stdout);
    runs.push_back(runner.Run(spec));
    return runs.back();
  };
  if (o.scenario == "S1") {
    Options s1 = o;
    s1.clients = 50;
    s1.rooms = 1;
    run(BaseSpec(s1, "S1"));
  } else if (o.scenario == "S2") {
    Options s2 = o;
    s2.clients = 500;
    s2.rooms = 100;
    run(BaseSpec(s2, "S2"));
  } else if (o.scenario == "S3") {
    for (int n : o.steps) {
      Options step = o;
      step.clients = n;
      step.rooms = 1;
      const RunResult& r = run(BaseSpec(step, "S3 n=" + std::to_string(n)));
      const double p99_ms = r.totals.delivery.Quantile(0.99) / 1000.0;
      if (!r.ok || p99_ms > o.knee_ms) {
        std::printf("quire-loadgen: S3 stops at %d clients (%s)\n", n,
                    !r.ok ? r.failure.c_str() : "p99 over the knee");
        break;
      }
    }
  } else {
    run(BaseSpec(o, "custom"));
  }
  // A run fails when a client could not connect, the run did not settle
  // or did not converge. A step of S3 over the p99 bound is the knee, not
  // a failure.
  *ok = !runs.empty();
  for (const RunResult& r : runs) *ok = *ok && r.ok;
  return runs;
}


// S5: with the server's presence interval (coalesced), then, on a server
// it started, again on a restarted server with --presence-ms 0, which
// flushes presence on every update: the relay-each-update baseline.
nlohmann::json RunPresencePair(const Options& o, ServerProcess* server, const std::string& data,
                               ServerRef* ref, bool* ok) {
  Options s5 = o;
  if (!o.clients_given) s5.clients = 200;
  if (!o.rate_given) s5.rate = 20;
  std::vector<RunResult> runs;
  auto run = [&](const std::string& label) {
    std::printf("quire-loadgen: %s: %d clients moving their cursors %.0f times a second, %.0f s\n",
                label.c_str(), s5.clients, s5.rate, s5.seconds);
    std::fflush(stdout);
    runs.push_back(RunPresence(s5, *ref));
    runs.back().spec.label = label;
  };
  run("S5 coalesced");
  if (server->started_here()) {
    std::vector<std::string> args;
    for (size_t i = 0; i < o.server_args.size(); ++i) {
      if (o.server_args[i] == "--presence-ms") {
        ++i;  // And its value.
      } else if (o.server_args[i].rfind("--presence-ms=", 0) != 0) {
        args.push_back(o.server_args[i]);
      }
    }
    args.insert(args.end(), {"--presence-ms", "0"});
    server->Stop();
    if (Status st = server->Start(o.server_binary, data, o.durability, args); !st.ok()) {
      std::printf("quire-loadgen: cannot restart the server: %s\n", st.ToString().c_str());
      *ok = false;
      return nlohmann::json::array();
    }
    ref->pid = server->pid();
    ref->port = server->port();
    run("S5 each update");
  }
  PrintRunTable(runs);
  PrintPresenceTable(runs);
  nlohmann::json all = nlohmann::json::array();
  *ok = true;
  for (const RunResult& r : runs) {
    all.push_back(ToJson(r));
    *ok = *ok && r.ok;
  }
  if (runs.size() == 2 && runs[0].totals.presence_messages > 0) {
    const double cut = static_cast<double>(runs[1].totals.presence_messages) /
                       static_cast<double>(runs[0].totals.presence_messages);
    std::printf("quire-loadgen: coalescing sends %.1fx fewer presence frames\n", cut);
  }
  return all;
}

}  // namespace

ScenarioOutput RunScenario(const Options& o) {
  ScenarioOutput out;
  out.json = {{"scenario", o.scenario}, {"machine_start", Machine()}};
  ServerProcess server;
  ServerRef ref;
  std::string data = o.data_dir;
  bool temporary = false;
  if (o.attach_pid != 0) {
    server.Attach(o.attach_pid, static_cast<uint16_t>(o.attach_port));
  } else {
    if (data.empty()) {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "quire-loadgen-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        out.error = "cannot create a temporary data directory";
        return out;
      }
      data = pattern;
      temporary = true;
    }
    if (Status s = server.Start(o.server_binary, data, o.durability, o.server_args); !s.ok()) {
      out.error = s.ToString();
      return out;
    }
  }
  ref.pid = server.pid();
  ref.port = server.port();
  std::printf("quire-loadgen: server pid %d on 127.0.0.1:%u (%s)\n", static_cast<int>(ref.pid),
              static_cast<unsigned>(ref.port), server.started_here() ? "started here" : "attached");
  std::fflush(stdout);
  out.json["server"] = {{"binary", o.server_binary}, {"durability", o.durability},
                        {"args", o.server_args}, {"started_here", server.started_here()}};

  if (o.scenario == "S5") {
    out.json["runs"] = RunPresencePair(o, &server, data, &ref, &out.ok);
  } else if (o.scenario == "S4") {
    out.json["idle"] = RunIdleConnections(o, ref, &out.ok);
  } else if (o.scenario == "S6") {
    out.json["cold"] = RunColdOpens(o, &server, data, &ref, &out.ok);
  } else {
    std::vector<RunResult> runs = RunTyping(o, ref, &out.ok);
    PrintRunTable(runs);
    nlohmann::json all = nlohmann::json::array();
    for (const RunResult& r : runs) all.push_back(ToJson(r));
    out.json["runs"] = all;
  }
  out.json["machine_end"] = Machine();
  if (server.started_here()) {
    const int status = server.Stop();
    out.json["server"]["exit_status"] = status;
    if (status != 0) std::printf("quire-loadgen: the server exited with status %d\n", status);
  }
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(data, ec);
  }
  return out;
}

}  // namespace quire::loadgen
