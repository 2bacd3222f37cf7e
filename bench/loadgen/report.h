// Printing load runs: a table on stdout and the same figures as JSON.
//
// Thread safety: free functions.
#ifndef QUIRE_BENCH_LOADGEN_REPORT_H_
#define QUIRE_BENCH_LOADGEN_REPORT_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/loadgen/runner.h"

namespace quire::loadgen {

// The figures of one run, as the JSON output holds them.
nlohmann::json ToJson(const RunResult& r);
// The table's header and one row per run.
void PrintRunTable(const std::vector<RunResult>& runs);
// S5's: presence frames and bytes the server sent per second, its CPU,
// and the delay from a cursor move to a peer's receipt.
void PrintPresenceTable(const std::vector<RunResult>& runs);

// Server CPU time per delivered update, in microseconds (0 when unknown).
double CpuPerDeliveryUs(const RunResult& r);

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_REPORT_H_
