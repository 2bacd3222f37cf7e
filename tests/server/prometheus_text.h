// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests: every line must be a well-formed HELP, TYPE, comment or sample;
// every sample must belong to a family whose TYPE came first; histograms
// must have cumulative buckets ending in +Inf that equal their _count.
#ifndef QUIRE_TESTS_SERVER_PROMETHEUS_TEXT_H_
#define QUIRE_TESTS_SERVER_PROMETHEUS_TEXT_H_

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace quire::test {

struct PromSamples {
  // "name{a=\"x\",b=\"y\"}" (labels as written, sorted) -> value.
  std::map<std::string, double> values;
  std::map<std::string, std::string> types;  // Family name -> type.
  double Get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? NAN : it->second;
  }
};

namespace prom_internal {

inline bool NameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

inline std::optional<std::string> ReadName(const std::string& s, size_t* at) {
  const size_t start = *at;
  while (*at < s.size() && NameChar(s[*at], *at == start)) ++*at;
  if (*at == start) return std::nullopt;
  return s.substr(start, *at - start);
}

inline std::optional<double> ReadValue(const std::string& v) {
  if (v == "+Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') return std::nullopt;
  return d;
}

// The family a sample name belongs to (histogram and summary suffixes).
inline std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_count", "_sum"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (types.count(base) != 0) return base;
    }
  }
  return name;
}

}  // namespace prom_internal

// Parses `text`; on failure returns nullopt and says why in *error.
inline std::optional<PromSamples> ParsePrometheusText(const std::string& text, std::string* error) {
  using namespace prom_internal;
  PromSamples out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(n) + ": " + why + ": " + line;
    return std::nullopt;
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name, rest;
      words >> hash >> kind >> name;
      if (kind == "TYPE") {
        words >> rest;
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (kTypes.count(rest) == 0) return fail("unknown type");
        if (out.types.count(name) != 0) return fail("TYPE given twice");
        out.types[name] = rest;
      }
      continue;
    }
    size_t at = 0;
    std::optional<std::string> name = ReadName(line, &at);
    if (!name) return fail("bad metric name");
    std::map<std::string, std::string> labels;
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        std::optional<std::string> key = ReadName(line, &at);
        if (!key || at + 1 >= line.size() || line[at] != '=' || line[at + 1] != '"') {
          return fail("bad label");
        }
        at += 2;
        std::string value;
        while (at < line.size() && line[at] != '"') {
          if (line[at] == '\\' && at + 1 < line.size()) ++at;
          value.push_back(line[at++]);
        }
        if (at >= line.size()) return fail("unterminated label value");
        ++at;
        labels[*key] = value;
        if (at < line.size() && line[at] == ',') ++at;
      }
      if (at >= line.size()) return fail("unterminated labels");
      ++at;
    }
    if (at >= line.size() || line[at] != ' ') return fail("no value");
    std::istringstream rest(line.substr(at + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    std::optional<double> v = ReadValue(value);
    if (!v || !extra.empty()) return fail("bad value");
    const std::string family = FamilyOf(*name, out.types);
    if (out.types.count(family) == 0) return fail("sample before its TYPE");
    std::string key = *name;
    if (!labels.empty()) {
      key += "{";
      bool first = true;
      for (const auto& [k, val] : labels) {
        key += (first ? "" : ",") + k + "=\"" + val + "\"";
        first = false;
      }
      key += "}";
    }
    if (out.values.count(key) != 0) return fail("sample given twice");
    out.values[key] = *v;
  }
  // Histograms: buckets are cumulative and the +Inf bucket is the count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<double, double> buckets;  // le -> cumulative count.
    const std::string prefix = family + "_bucket{le=\"";
    for (const auto& [key, value] : out.values) {
      if (key.rfind(prefix, 0) != 0) continue;
      const std::string le = key.substr(prefix.size(), key.size() - prefix.size() - 2);
      std::optional<double> bound = ReadValue(le);
      if (!bound) {
        *error = family + ": bad le " + le;
        return std::nullopt;
      }
      buckets[*bound] = value;
    }
    double last = 0;
    for (const auto& [le, count] : buckets) {
      if (count < last) {
        *error = family + ": buckets are not cumulative";
        return std::nullopt;
      }
      last = count;
    }
    if (buckets.empty() || !std::isinf(buckets.rbegin()->first) ||
        buckets.rbegin()->second != out.Get(family + "_count")) {
      *error = family + ": no +Inf bucket equal to _count";
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_PROMETHEUS_TEXT_H_
