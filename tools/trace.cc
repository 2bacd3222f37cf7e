#include "tools/trace.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/utf8.h"

namespace quire::tools {
namespace {

using nlohmann::json;

constexpr int kMaxAgents = 1 << 20;

std::string Where(size_t txn) { return "txns[" + std::to_string(txn) + "]"; }
std::string Where(size_t txn, size_t patch) {
  return Where(txn) + ".patches[" + std::to_string(patch) + "]";
}

// gzread reads plain (not gzipped) files unchanged, so both work.
Result<std::string> ReadGzipFile(const std::string& path) {
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    const char* why = errno != 0 ? std::strerror(errno) : "cannot open";
    return IoError(path + ": " + why);
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    const int n = gzread(file, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(file, &code);
      if (code == Z_ERRNO) why = std::strerror(errno);
      gzclose(file);
      return IoError(path + ": read failed: " + why);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  // A truncated gzip stream reads as a short file; gzclose_r reports it.
  const int rc = gzclose(file);
  if (rc != Z_OK) {
    return IoError(path + ": gzip stream is corrupt or truncated (zlib error " +
                   std::to_string(rc) + ")");
  }
  return out;
}

// Builds a Trace straight from the parser's events, without a JSON DOM: a
// DOM of a large trace takes ~10x the file's size, which would dominate
// the peak memory that replay reports. Checks the shape as it goes and
// stops at the first thing that does not fit, naming where it is.
class TraceBuilder final : public json::json_sax_t {
 public:
  explicit TraceBuilder(Trace* trace) : trace_(trace) {}

  const std::string& error() const { return error_; }

  // The checks that need the whole document (fields may come in any order).
  Status Finish() const {
    if (!has_end_) return InvalidArgument("expected \"endContent\": a string");
    if (!has_txns_) return InvalidArgument("expected \"txns\": an array");
    if (trace_->concurrent) {
      if (trace_->num_agents == 0) {
        return InvalidArgument("expected \"numAgents\": an integer in [1, " +
                               std::to_string(kMaxAgents) + "]");
      }
      if (first_without_graph_ != kNone) {
        return InvalidArgument(Where(first_without_graph_) +
                               ": a concurrent trace's txn needs \"parents\" and \"agent\"");
      }
    }
    return Status::Ok();
  }

  bool null() override { return Scalar("null"); }
  bool boolean(bool /*val*/) override { return Scalar("a boolean"); }
  bool number_integer(number_integer_t val) override {
    if (val >= 0) return number_unsigned(static_cast<number_unsigned_t>(val));
    return Scalar("a negative number");
  }
  bool number_float(number_float_t /*val*/, const string_t& /*s*/) override {
    return Scalar("a fractional number");
  }
  bool binary(binary_t& /*val*/) override { return Scalar("binary"); }

  bool number_unsigned(number_unsigned_t val) override {
    const Role role = NextRole();
    if (role == Role::kIgnore) return true;
    if (role == Role::kNumAgents) {
      if (val == 0 || val > kMaxAgents) {
        return Fail("\"numAgents\" must be in [1, " + std::to_string(kMaxAgents) + "]");
      }
      trace_->num_agents = static_cast<int>(val);
      return true;
    }
    if (role != Role::kPos && role != Role::kDel && role != Role::kParent && role != Role::kAgent) {
      return Mismatch(role, "a number");
    }
    if (val > std::numeric_limits<uint32_t>::max()) {
      return Fail(Describe(role) + ": " + std::to_string(val) + " does not fit 32 bits");
    }
    const auto v = static_cast<uint32_t>(val);
    Txn& txn = trace_->txns.back();
    switch (role) {
      case Role::kPos:
        txn.patches.back().pos = v;
        break;
      case Role::kDel:
        txn.patches.back().del = v;
        break;
      case Role::kParent:
        txn.parents.push_back(v);
        break;
      default:
        txn.agent = v;
        break;
    }
    if (role == Role::kPos || role == Role::kDel) ++stack_.back().elements;
    return true;
  }

  bool string(string_t& val) override {
    const Role role = NextRole();
    switch (role) {
      case Role::kIgnore:
        return true;
      case Role::kKind:
        if (val != "concurrent") {
          return Fail("unknown \"kind\" \"" + val + "\" (expected \"concurrent\" or no kind)");
        }
        trace_->concurrent = true;
        return true;
      case Role::kStartContent:
        if (!val.empty()) return Fail("a non-empty \"startContent\" is not supported");
        return true;
      case Role::kEndContent:
        trace_->end_content = std::move(val);
        has_end_ = true;
        return true;
      case Role::kIns:
        trace_->txns.back().patches.back().ins = std::move(val);
        ++stack_.back().elements;
        return true;
      default:
        return Mismatch(role, "a string");
    }
  }

  bool start_object(std::size_t /*elements*/) override {
    const Role role = NextRole();
    if (role == Role::kTop || role == Role::kIgnore) return Push(role);
    if (role != Role::kTxn) return Mismatch(role, "an object");
    trace_->txns.emplace_back();
    return Push(Role::kTxn);
  }
  bool key(string_t& val) override {
    Frame& top = stack_.back();
    top.key = Role::kIgnore;
    if (top.role == Role::kTop) {
      if (val == "kind") top.key = Role::kKind;
      if (val == "startContent") top.key = Role::kStartContent;
      if (val == "endContent") top.key = Role::kEndContent;
      if (val == "numAgents") top.key = Role::kNumAgents;
      if (val == "txns") top.key = Role::kTxns;
    } else if (top.role == Role::kTxn) {
      if (val == "patches") top.key = Role::kPatches;
      if (val == "parents") top.key = Role::kParents;
      if (val == "agent") top.key = Role::kAgent;
    }
    if (top.key == Role::kIgnore) return true;
    const uint32_t bit = 1u << static_cast<int>(top.key);
    if ((top.seen & bit) != 0) return Fail(Describe(top.key) + " appears twice");
    top.seen |= bit;
    return true;
  }
  bool end_object() override {
    const Frame top = stack_.back();
    stack_.pop_back();
    if (top.role != Role::kTxn) return true;
    const size_t t = trace_->txns.size() - 1;
    if ((top.seen & (1u << static_cast<int>(Role::kPatches))) == 0) {
      return Fail(Where(t) + ": missing \"patches\"");
    }
    const uint32_t graph =
        (1u << static_cast<int>(Role::kParents)) | (1u << static_cast<int>(Role::kAgent));
    if ((top.seen & graph) != graph && first_without_graph_ == kNone) {
      first_without_graph_ = t;
    }
    return true;
  }

  bool start_array(std::size_t /*elements*/) override {
    const Role role = NextRole();
    if (role == Role::kTxns) has_txns_ = true;
    if (role == Role::kPatch) trace_->txns.back().patches.emplace_back();
    if (role == Role::kTxns || role == Role::kPatches || role == Role::kPatch ||
        role == Role::kParents || role == Role::kIgnore) {
      return Push(role);
    }
    return Mismatch(role, "an array");
  }
  bool end_array() override {
    const Frame top = stack_.back();
    stack_.pop_back();
    if (top.role == Role::kPatch && top.elements != 3) {
      return Fail(Describe(Role::kPatch) + ": expected [pos, del, \"ins\"]");
    }
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    if (error_.empty()) error_ = std::string("not valid JSON: ") + ex.what();
    return false;
  }

 private:
  // What a value is, from where it stands. kTop..kAgent name object keys
  // too (and index Frame::seen bits).
  enum class Role : int {
    kTop,
    kKind,
    kStartContent,
    kEndContent,
    kNumAgents,
    kTxns,
    kTxn,
    kPatches,
    kParents,
    kAgent,
    kPatch,
    kPos,
    kDel,
    kIns,
    kParent,
    kExtraPatchField,
    kIgnore,
  };
  struct Frame {
    Role role;
    Role key = Role::kIgnore;  // Objects: the role of the current key's value.
    uint32_t seen = 0;         // Objects: the keys seen, as 1 << Role.
    size_t elements = 0;       // Patch arrays: elements so far.
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);

  Role NextRole() const {
    if (stack_.empty()) return Role::kTop;
    const Frame& top = stack_.back();
    switch (top.role) {
      case Role::kTop:
      case Role::kTxn:
        return top.key;
      case Role::kTxns:
        return Role::kTxn;
      case Role::kPatches:
        return Role::kPatch;
      case Role::kParents:
        return Role::kParent;
      case Role::kPatch:
        if (top.elements == 0) return Role::kPos;
        if (top.elements == 1) return Role::kDel;
        if (top.elements == 2) return Role::kIns;
        return Role::kExtraPatchField;
      default:
        return Role::kIgnore;
    }
  }

  std::string Describe(Role role) const {
    const size_t t = trace_->txns.empty() ? 0 : trace_->txns.size() - 1;
    const size_t p = trace_->txns.empty() || trace_->txns.back().patches.empty()
                         ? 0
                         : trace_->txns.back().patches.size() - 1;
    switch (role) {
      case Role::kTop:
        return "the top level";
      case Role::kKind:
        return "\"kind\"";
      case Role::kStartContent:
        return "\"startContent\"";
      case Role::kEndContent:
        return "\"endContent\"";
      case Role::kNumAgents:
        return "\"numAgents\"";
      case Role::kTxns:
        return "\"txns\"";
      case Role::kTxn:
        return "txns[" + std::to_string(trace_->txns.size()) + "]";
      case Role::kPatches:
        return Where(t) + ".patches";
      case Role::kParents:
        return Where(t) + ".parents";
      case Role::kAgent:
        return Where(t) + ".agent";
      case Role::kPatch:
        return Where(t, p);
      case Role::kPos:
        return Where(t, p) + "[0] (pos)";
      case Role::kDel:
        return Where(t, p) + "[1] (del)";
      case Role::kIns:
        return Where(t, p) + "[2] (ins)";
      case Role::kParent:
        return Where(t) + ".parents[" + std::to_string(trace_->txns.back().parents.size()) + "]";
      case Role::kExtraPatchField:
        return Where(t, p);
      case Role::kIgnore:
        return "an ignored field";
    }
    return "";
  }

  static const char* Expected(Role role) {
    switch (role) {
      case Role::kTop:
      case Role::kTxn:
        return "an object";
      case Role::kTxns:
      case Role::kPatches:
      case Role::kParents:
        return "an array";
      case Role::kPatch:
        return "[pos, del, \"ins\"]";
      case Role::kKind:
      case Role::kStartContent:
      case Role::kEndContent:
      case Role::kIns:
        return "a string";
      case Role::kPos:
      case Role::kDel:
      case Role::kParent:
      case Role::kAgent:
      case Role::kNumAgents:
        return "an integer";
      default:
        return "nothing";
    }
  }

  bool Push(Role role) {
    stack_.push_back(Frame{role});
    return true;
  }
  bool Scalar(const char* what) {
    const Role role = NextRole();
    return role == Role::kIgnore || Mismatch(role, what);
  }
  bool Mismatch(Role role, const char* got) {
    if (role == Role::kExtraPatchField) {
      return Fail(Describe(Role::kPatch) + ": expected [pos, del, \"ins\"], got more elements");
    }
    return Fail(Describe(role) + ": expected " + Expected(role) + ", got " + got);
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  Trace* trace_;
  std::vector<Frame> stack_;
  bool has_end_ = false;
  bool has_txns_ = false;
  size_t first_without_graph_ = kNone;
  std::string error_;
};

Status ValidateSequential(const Trace& trace) {
  uint64_t length = 0;  // Code points after the patches so far.
  for (size_t t = 0; t < trace.txns.size(); ++t) {
    const std::vector<Patch>& patches = trace.txns[t].patches;
    for (size_t i = 0; i < patches.size(); ++i) {
      const Patch& p = patches[i];
      if (uint64_t{p.pos} + p.del > length) {
        return InvalidArgument(Where(t, i) + ": pos " + std::to_string(p.pos) + " + del " +
                               std::to_string(p.del) + " is past the document's end (" +
                               std::to_string(length) + " code points)");
      }
      Result<size_t> inserted = utf8::Validate(p.ins);
      if (!inserted.ok()) {
        return InvalidArgument(Where(t, i) + ": " + inserted.status().message());
      }
      length = length - p.del + *inserted;
    }
  }
  return Status::Ok();
}

Status ValidateConcurrent(const Trace& trace) {
  if (trace.num_agents <= 0) return InvalidArgument("num_agents must be positive");
  for (size_t t = 0; t < trace.txns.size(); ++t) {
    const Txn& txn = trace.txns[t];
    if (txn.agent >= static_cast<uint32_t>(trace.num_agents)) {
      return InvalidArgument(Where(t) + ": agent " + std::to_string(txn.agent) +
                             " is not below numAgents " + std::to_string(trace.num_agents));
    }
    for (size_t i = 0; i < txn.parents.size(); ++i) {
      if (txn.parents[i] >= t) {
        return InvalidArgument(Where(t) + ": parent " + std::to_string(txn.parents[i]) +
                               " is not an earlier txn");
      }
      if (std::find(txn.parents.begin(), txn.parents.begin() + i, txn.parents[i]) !=
          txn.parents.begin() + i) {
        return InvalidArgument(Where(t) + ": parent " + std::to_string(txn.parents[i]) +
                               " is listed twice");
      }
    }
    for (size_t i = 0; i < txn.patches.size(); ++i) {
      Result<size_t> inserted = utf8::Validate(txn.patches[i].ins);
      if (!inserted.ok()) {
        return InvalidArgument(Where(t, i) + ": " + inserted.status().message());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

size_t Trace::PatchCount() const {
  size_t n = 0;
  for (const Txn& txn : txns) n += txn.patches.size();
  return n;
}

Status ValidateTrace(const Trace& trace) {
  Result<size_t> end = utf8::Validate(trace.end_content);
  if (!end.ok()) return InvalidArgument("endContent: " + end.status().message());
  return trace.concurrent ? ValidateConcurrent(trace) : ValidateSequential(trace);
}

Result<Trace> LoadTrace(const std::string& path) {
  QUIRE_ASSIGN_OR_RETURN(const std::string text, ReadGzipFile(path));
  Trace trace;
  try {
    TraceBuilder builder(&trace);
    if (!json::sax_parse(text, &builder)) {
      return InvalidArgument(path + ": " + builder.error());
    }
    Status status = builder.Finish();
    if (!status.ok()) return InvalidArgument(path + ": " + status.message());
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": not valid JSON: " + e.what());
  }
  Status status = ValidateTrace(trace);
  if (!status.ok()) return InvalidArgument(path + ": " + status.message());
  return trace;
}

std::string TraceName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  for (const char* suffix : {".gz", ".json"}) {
    const size_t n = std::strlen(suffix);
    if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) {
      name.resize(name.size() - n);
    }
  }
  return name;
}

}  // namespace quire::tools
