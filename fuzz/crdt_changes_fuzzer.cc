// Bytes drive three replicas through honest edits, deliveries in any order,
// and crafted changes: an honest change mutated (origins, parents, targets,
// ids, lengths, text moved elsewhere). Every call returns a Status, a
// refused change leaves its replica as it was, ValidateChange never
// changes anything, and what ValidateChange accepts Apply accepts. Only
// honest and validated changes travel; once everything is delivered every
// replica holds the same text, and a decoded copy of it too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crdt/text_doc.h"

namespace {

using namespace quire;
using crdt::AgentId;
using crdt::Change;
using crdt::Id;
using crdt::Op;
using crdt::TextDoc;
using crdt::Version;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "crdt_changes_fuzzer: %s\n", what.c_str());
  std::abort();
}

class Script {
 public:
  Script(const uint8_t* data, size_t size) : data_(data), left_(size) {}
  bool done() const { return left_ == 0; }
  uint64_t Next(uint64_t n) {  // In [0, n).
    if (left_ == 0 || n <= 1) return 0;
    --left_;
    return *data_++ % n;
  }

 private:
  const uint8_t* data_;
  size_t left_;
};

class World {
 public:
  explicit World(Script* s) : s_(*s) {
    for (uint64_t i = 0; i < 3; ++i) docs_.emplace_back(AgentId{i + 1});
  }

  void Step() {
    switch (s_.Next(4)) {
      case 0:
      case 1:
        HonestEdit(s_.Next(docs_.size()));
        break;
      case 2:
        Deliver(s_.Next(docs_.size()), s_.Next(pool_.size() + 1));
        break;
      case 3:
        Crafted(s_.Next(docs_.size()));
        break;
    }
  }

  void DeliverEverything() {
    for (size_t r = 0; r < docs_.size(); ++r) {
      for (size_t i = 0; i < pool_.size(); ++i) Deliver(r, i);
      if (docs_[r].PendingCount() != 0) Fail("changes still held back after every delivery");
      docs_[r].CheckInvariants();
      if (docs_[r].Text() != docs_[0].Text()) Fail("replicas diverged");
    }
    auto copy = TextDoc::Decode(docs_[0].Encode(), AgentId{50});
    if (!copy.ok() || copy->Text() != docs_[0].Text()) Fail("decoded copy differs");
  }

 private:
  std::string RandomText() {
    static constexpr const char* kPieces[] = {
        "a", "b", " ", "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80"};
    std::string s;
    for (uint64_t n = 1 + s_.Next(4); n > 0; --n) s += kPieces[s_.Next(6)];
    return s;
  }

  Change MakeEdit(TextDoc& doc) {
    const size_t size = doc.size();
    if (size > 0 && s_.Next(3) == 0) {
      const size_t pos = s_.Next(size);
      return doc.Remove(pos, 1 + s_.Next(std::min<size_t>(size - pos, 4)));
    }
    return doc.Insert(s_.Next(size + 1), RandomText());
  }

  void Remember(const Change& c) {
    for (const Op& op : c.ops) {
      if (op.kind == Op::Kind::kInsert) {
        for (uint64_t k = 0; k < op.Length(); ++k) ids_.push_back(Id{c.id.agent, c.id.seq + k});
      }
    }
  }

  void HonestEdit(size_t r) {
    Change c = MakeEdit(docs_[r]);
    Remember(c);
    pool_.push_back(std::move(c));
  }

  void Deliver(size_t r, size_t i) {
    if (i >= pool_.size()) return;
    TextDoc& doc = docs_[r];
    const std::string text = doc.Text();
    const Status valid = doc.ValidateChange(pool_[i]);
    if (doc.Text() != text) Fail("ValidateChange changed the document");
    if (!valid.ok() && valid.code() != StatusCode::kNotFound) {
      Fail("an honest or validated change was refused: " + valid.ToString());
    }
    auto patch = doc.Apply(pool_[i]);
    if (!patch.ok())
      Fail("Apply refused a change ValidateChange accepted: " + patch.status().ToString());
    auto patched = ot::Apply(text, *patch);
    if (!patched.ok() || *patched != doc.Text()) Fail("the patch does not match the new text");
  }

  Id SomeId() {
    if (ids_.empty() || s_.Next(5) == 0)
      return s_.Next(2) ? Id::Root() : Id{AgentId{9}, s_.Next(3)};
    return ids_[s_.Next(ids_.size())];
  }

  void Mutate(Change* c) {
    for (uint64_t n = 1 + s_.Next(3); n > 0; --n) {
      Op* op = c->ops.empty() ? nullptr : &c->ops[s_.Next(c->ops.size())];
      switch (s_.Next(9)) {
        case 0:
          if (op) op->origin_left = SomeId();
          break;
        case 1:
          if (op) op->origin_right = SomeId();
          break;
        case 2:
          c->parents.clear();
          for (uint64_t k = s_.Next(3); k > 0; --k) c->parents.push_back(SomeId());
          break;
        case 3:
          if (op) op->target = SomeId();
          break;
        case 4:
          if (op) op->len = 1 + s_.Next(6), op->backward = s_.Next(2);
          break;
        case 5:
          c->id.seq = c->id.seq + s_.Next(3) - 1;
          break;
        case 6:
          if (op) op->text = RandomText();
          break;
        case 7:
          if (op) c->ops.push_back(*op);
          break;
        case 8:
          c->id.agent = AgentId{1 + s_.Next(4)};  // Another's: never travels.
          break;
      }
    }
  }

  // A mutated honest change, made on a copy of replica r, by an agent of
  // its own (100 + r) so that no two different changes share an id (which
  // no validation can catch: the server hands out agents for that).
  void Crafted(size_t r) {
    TextDoc& doc = docs_[r];
    TextDoc scratch = doc;
    Change c = MakeEdit(scratch);
    const Id fresh{AgentId{100 + r}, doc.GetVersion().Get(AgentId{100 + r})};
    c.id = fresh;
    Mutate(&c);
    const std::string text = doc.Text();
    const Version version = doc.GetVersion();
    const Status valid = doc.ValidateChange(c);
    if (doc.Text() != text || doc.GetVersion() != version) Fail("ValidateChange changed it");
    if (valid.ok() && c.id == fresh) {
      auto patch = doc.Apply(c);
      if (!patch.ok()) Fail("Apply refused a validated change: " + patch.status().ToString());
      doc.CheckInvariants();
      Remember(c);
      pool_.push_back(std::move(c));
      return;
    }
    // Not valid: whatever Apply says, it says it with a Status, and a
    // refusal changes nothing. (On a copy: an accepted crafted change
    // must not travel.)
    TextDoc copy = doc;
    const size_t pending = copy.PendingCount();
    auto patch = copy.Apply(c);
    if (!patch.ok() &&
        (copy.Text() != text || copy.GetVersion() != version || copy.PendingCount() != pending)) {
      Fail("a refused change modified the document");
    }
    copy.CheckInvariants();
  }

  Script& s_;
  std::vector<TextDoc> docs_;
  std::vector<Change> pool_;  // Honest and validated changes, in the order made.
  std::vector<Id> ids_;       // Inserted characters' ids.
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  Script script(data, size);
  World world(&script);
  while (!script.done()) world.Step();
  world.DeliverEverything();
  return 0;
}
