// A simulated network of TextDoc replicas for convergence tests and the
// CRDT fuzzer: random edits on random replicas, messages delivered late,
// out of order and twice, one Change per edit or (batched mode) in
// overlapping ChangesSince batches. Every delivery checks that
// ValidateChange() does not refuse the honest change and that the patch
// Apply() returned turns the replica's old text into its new text.
#ifndef QUIRE_TESTS_CRDT_REPLICAS_H_
#define QUIRE_TESTS_CRDT_REPLICAS_H_

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "crdt/text_doc.h"

namespace quire::crdt::test {

class Replicas {
 public:
  // `fail` reports a broken expectation (gtest's ADD_FAILURE, or abort in
  // the fuzzer); it gets a description.
  using FailFn = std::function<void(const std::string&)>;

  Replicas(int count, uint64_t seed, FailFn fail) : rng_(seed), fail_(std::move(fail)) {
    for (int i = 0; i < count; ++i) docs_.emplace_back(AgentId{static_cast<uint64_t>(i) + 1});
  }
  // Decisions read from `data` instead of a seeded generator (fuzzing);
  // once it runs out every choice is the lowest one.
  Replicas(int count, const uint8_t* data, size_t size, FailFn fail)
      : Replicas(count, 0, std::move(fail)) {
    bytes_ = data;
    left_ = size;
    from_bytes_ = true;
  }
  bool exhausted() const { return from_bytes_ && left_ == 0; }

  size_t count() const { return docs_.size(); }
  TextDoc& doc(size_t i) { return docs_[i]; }
  uint64_t Uniform(uint64_t lo, uint64_t hi) {  // Inclusive.
    if (!from_bytes_) return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
    if (left_ == 0) return lo;
    uint64_t v = *bytes_++;
    --left_;
    if (hi - lo > 255 && left_ > 0) {
      v = v << 8 | *bytes_++;
      --left_;
    }
    return lo + v % (hi - lo + 1);
  }

  // Random text of 1-, 2-, 3- and 4-byte code points.
  std::string RandomText(size_t n) {
    static constexpr char32_t kChars[] = {U'a', U'b', U'c', U'd', U'e', U' ', U'\u00e9',
                                          U'\u0436', U'\u4e2d', U'\u20ac', U'\U0001F600',
                                          U'\U0001D11E'};
    std::string s;
    for (size_t i = 0; i < n; ++i) utf8::Append(s, kChars[Uniform(0, std::size(kChars) - 1)]);
    return s;
  }

  // A local edit on replica r; its change is queued for every other replica.
  void Insert(size_t r, size_t pos, const std::string& text) {
    const std::string before = docs_[r].Text();
    Send(r, docs_[r].Insert(pos, text));
    Expect(docs_[r].Text() == Splice(before, pos, 0, text), "local insert text");
  }
  void Remove(size_t r, size_t pos, size_t len) {
    const std::string before = docs_[r].Text();
    Send(r, docs_[r].Remove(pos, len));
    Expect(docs_[r].Text() == Splice(before, pos, len, ""), "local remove text");
  }

  void RandomEdit(size_t r) {
    const size_t size = docs_[r].size();
    if (size > 0 && Uniform(0, 2) == 0) {
      const size_t pos = Uniform(0, size - 1);
      Remove(r, pos, Uniform(1, std::min<size_t>(size - pos, 6)));
    } else {
      Insert(r, Uniform(0, size), RandomText(Uniform(1, 5)));
    }
  }

  // Steps of: a random edit somewhere, or a random queued delivery.
  void RandomEdits(int steps) {
    for (int i = 0; i < steps; ++i) {
      if (!queue_.empty() && Uniform(0, 2) == 0) {
        DeliverOne(Uniform(0, queue_.size() - 1));
      } else {
        RandomEdit(Uniform(0, docs_.size() - 1));
      }
    }
  }

  // Batched mode, as an editor works: edits with LocalInsert/LocalRemove,
  // and now and then a replica sends a peer ChangesSince(what it sent that
  // peer last) or, one time in four, since the version before that, so
  // batches overlap what the peer has.
  void RandomBatchedEdits(int steps) {
    for (int i = 0; i < steps; ++i) {
      const uint64_t u = Uniform(0, 9);
      if (!queue_.empty() && u < 3) {
        DeliverOne(Uniform(0, queue_.size() - 1));
      } else if (u < 5) {
        const size_t from = Uniform(0, docs_.size() - 1);
        const size_t to = (from + Uniform(1, docs_.size() - 1)) % docs_.size();
        SendBatch(from, to, /*overlap=*/Uniform(0, 3) == 0);
      } else {
        RandomLocalEdit(Uniform(0, docs_.size() - 1));
      }
    }
  }
  // What each replica has not sent each peer yet.
  void SendAllBatches() {
    for (size_t from = 0; from < docs_.size(); ++from) {
      for (size_t to = 0; to < docs_.size(); ++to) {
        if (to != from) SendBatch(from, to, /*overlap=*/false);
      }
    }
  }

  void DeliverAllShuffledWithDuplicates() {
    while (!queue_.empty()) DeliverOne(Uniform(0, queue_.size() - 1));
  }

  void ExpectConverged() {
    for (size_t i = 0; i < docs_.size(); ++i) {
      docs_[i].CheckInvariants();
      Expect(docs_[i].PendingCount() == 0, "nothing held back after full delivery");
      Expect(docs_[i].Text() == docs_[0].Text(), "replica " + std::to_string(i) +
                                                     " text '" + docs_[i].Text() +
                                                     "' != replica 0 '" + docs_[0].Text() + "'");
      Expect(docs_[i].GetVersion() == docs_[0].GetVersion(), "versions differ");
    }
    // A decoded copy holds the same document and goes on like the original.
    Result<TextDoc> copy = TextDoc::Decode(docs_[0].Encode(), AgentId{99});
    if (!copy.ok()) return fail_("Decode failed: " + copy.status().ToString());
    copy->CheckInvariants();
    Expect(copy->Text() == docs_[0].Text(), "decoded text differs");
    Expect(copy->GetVersion() == docs_[0].GetVersion(), "decoded version differs");
    const size_t pos = Uniform(0, copy->size());
    const Change edit = copy->Insert(pos, "xy");
    const std::string expected = Splice(docs_[0].Text(), pos, 0, "xy");
    Result<ot::TextOp> patch = docs_[0].Apply(edit);
    Expect(patch.ok() && docs_[0].Text() == expected && copy->Text() == expected,
           "an edit on the decoded copy does not merge back");
    for (size_t i = 1; i < docs_.size(); ++i) {
      if (!docs_[i].Apply(edit).ok()) fail_("Apply of the decoded copy's edit failed");
    }
  }

 private:
  struct Message {
    size_t to;
    Change change;
  };

  static std::string Splice(const std::string& text, size_t pos, size_t del,
                            const std::string& ins) {
    const size_t a = utf8::ByteOffset(text, pos);
    const size_t b = utf8::ByteOffset(text, pos + del);
    return text.substr(0, a) + ins + text.substr(b);
  }

  void Expect(bool ok, const std::string& what) {
    if (!ok) fail_(what);
  }

  void RandomLocalEdit(size_t r) {
    TextDoc& doc = docs_[r];
    const std::string before = doc.Text();
    const size_t size = doc.size();
    if (size > 0 && Uniform(0, 2) == 0) {
      const size_t pos = Uniform(0, size - 1);
      const size_t len = Uniform(1, std::min<size_t>(size - pos, 6));
      doc.LocalRemove(pos, len);
      Expect(doc.Text() == Splice(before, pos, len, ""), "local remove text");
    } else {
      const size_t pos = Uniform(0, size);
      const std::string text = RandomText(Uniform(1, 5));
      doc.LocalInsert(pos, text);
      Expect(doc.Text() == Splice(before, pos, 0, text), "local insert text");
    }
  }

  void SendBatch(size_t from, size_t to, bool overlap) {
    if (sent_.empty()) {
      sent_.assign(docs_.size() * docs_.size(), Version());
      sent_before_ = sent_;
    }
    Version& sent = sent_[from * docs_.size() + to];
    Version& before = sent_before_[from * docs_.size() + to];
    for (Change& c : docs_[from].ChangesSince(overlap ? before : sent)) {
      queue_.push_back(Message{to, std::move(c)});
    }
    before = sent;
    sent = docs_[from].GetVersion();
  }

  void Send(size_t from, Change change) {
    for (size_t to = 0; to < docs_.size(); ++to) {
      if (to == from) continue;
      queue_.push_back(Message{to, change});
      if (Uniform(0, 9) == 0) queue_.push_back(Message{to, change});  // A duplicate.
    }
  }

  void DeliverOne(size_t i) {
    Message m = std::move(queue_[i]);
    queue_[i] = std::move(queue_.back());
    queue_.pop_back();
    TextDoc& doc = docs_[m.to];
    const std::string before = doc.Text();
    // What a server would check first: an honest change is never refused
    // (only its dependencies may be missing yet).
    const Status valid = doc.ValidateChange(m.change);
    if (!valid.ok() && valid.code() != StatusCode::kNotFound) {
      fail_("ValidateChange refused an honest change: " + valid.ToString());
    }
    Result<ot::TextOp> patch = doc.Apply(m.change);
    if (!patch.ok()) {
      fail_("Apply failed: " + patch.status().ToString());
      return;
    }
    Result<std::string> patched = ot::Apply(before, *patch);
    Expect(patched.ok() && *patched == doc.Text(),
           "patch " + patch->ToJson() + " does not turn '" + before + "' into '" + doc.Text() +
               "'");
  }

  std::mt19937_64 rng_;
  bool from_bytes_ = false;
  const uint8_t* bytes_ = nullptr;
  size_t left_ = 0;
  FailFn fail_;
  std::vector<TextDoc> docs_;
  std::vector<Message> queue_;
  // Batched mode: per (from, to), the version sent last and the one before.
  std::vector<Version> sent_;
  std::vector<Version> sent_before_;
};

}  // namespace quire::crdt::test

#endif  // QUIRE_TESTS_CRDT_REPLICAS_H_
