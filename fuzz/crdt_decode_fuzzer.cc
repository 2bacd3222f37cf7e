// Arbitrary bytes to TextDoc::Decode (first byte even) or, decoded as a
// Change, to TextDoc::Apply on a document with some history (odd). Either
// an error comes back, or a valid document: invariants hold, it encodes
// and decodes to itself, and a returned patch turns the old text into the
// new one. Never a crash, a leak or a hang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "crdt/change_codec.h"
#include "crdt/text_doc.h"

namespace {

using quire::crdt::AgentId;
using quire::crdt::TextDoc;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "crdt_decode_fuzzer: %s\n", what);
  std::abort();
}

// Two agents' concurrent history, with deletes and non-ASCII text.
const TextDoc& BaseDoc() {
  static const TextDoc doc = [] {
    TextDoc a(AgentId{1});
    TextDoc b(AgentId{2});
    a.Insert(0, "hello world");
    if (!b.Merge(a).ok()) Fail("merge");
    a.Insert(5, ", dear");
    b.Remove(0, 1);
    b.Insert(0, "J\xC3\xA9");
    a.Remove(7, 3);
    if (!a.Merge(b).ok()) Fail("merge");
    return a;
  }();
  return doc;
}

void CheckDoc(const TextDoc& doc) {
  doc.CheckInvariants();
  auto again = TextDoc::Decode(doc.Encode(), AgentId{3});
  if (!again.ok() || again->Text() != doc.Text() || again->GetVersion() != doc.GetVersion()) {
    Fail("encode/decode does not round-trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto doc = TextDoc::Decode(bytes, AgentId{5});
    if (!doc.ok()) return 0;
    CheckDoc(*doc);
    doc->Insert(doc->size() / 2, "x");  // A decoded document edits on.
    doc->CheckInvariants();
    return 0;
  }
  auto change = quire::crdt::DecodeChange(bytes);
  if (!change.ok()) return 0;
  TextDoc doc = BaseDoc();
  const std::string before = doc.Text();
  auto patch = doc.Apply(*change);
  if (!patch.ok()) {
    if (doc.Text() != before) Fail("a rejected change modified the document");
    return 0;
  }
  auto patched = quire::ot::Apply(before, *patch);
  if (!patched.ok() || *patched != doc.Text()) Fail("patch does not match the new text");
  CheckDoc(doc);
  return 0;
}
