// The C++ half of the differential test against ot-text-unicode
// (tests/ot/ot_diff.js is the other half and the one ctest runs). Reads one
// case per line on stdin (case_runner.h) and writes what ot/ computes for
// it as one JSON object per line on stdout. It compares nothing itself: the
// Node script knows the expected values and prints a divergent case. A case
// it cannot even parse gets {"error": message}.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/ot/case_runner.h"

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    nlohmann::json response;
    try {
      quire::Result<nlohmann::json> r = quire::ot::test::RunCase(nlohmann::json::parse(line));
      response = r.ok() ? *std::move(r) : nlohmann::json{{"error", r.status().ToString()}};
    } catch (const nlohmann::json::exception& e) {
      response = nlohmann::json{{"error", std::string("bad case: ") + e.what()}};
    }
    out = response.dump();
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return 0;
}
