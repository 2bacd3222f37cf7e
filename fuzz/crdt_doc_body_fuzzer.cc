// Arbitrary bytes as the body of a document (docs/crdt_format.md), wrapped
// in a valid header and CRC so that every input reaches the body parser
// (crdt_decode_fuzzer's inputs mostly fail the CRC). First byte odd: the
// body goes in as a zstd frame, even: raw.
//
// Decode must return a Status, within the default limits. What it accepts
// must be a document Apply() could have built: integrating its history
// (ChangesSince of the empty version) into a fresh replica gives the same
// text, and it encodes and decodes to itself.
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/coding.h"
#include "crdt/text_doc.h"

namespace {

using quire::crdt::AgentId;
using quire::crdt::TextDoc;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "crdt_doc_body_fuzzer: %s\n", what);
  std::abort();
}

std::string Wrap(std::string_view body, bool compress) {
  std::string out = "QDOC";
  out.push_back(1);
  out.push_back(compress ? 1 : 0);
  quire::PutVarint(&out, body.size());
  if (compress) {
    std::string frame(ZSTD_compressBound(body.size()), '\0');
    frame.resize(ZSTD_compress(frame.data(), frame.size(), body.data(), body.size(), 1));
    out += frame;
  } else {
    out.append(body);
  }
  quire::PutFixed32(&out, quire::Crc32(out));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1 << 16)) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto doc = TextDoc::Decode(Wrap(body, data[0] % 2 == 1), AgentId{5});
  if (!doc.ok()) return 0;
  doc->CheckInvariants();
  // Its history, integrated from scratch, gives the same document.
  TextDoc rebuilt(AgentId{6});
  for (const quire::crdt::Change& c : doc->ChangesSince(quire::crdt::Version())) {
    if (!rebuilt.Integrate(c).ok()) Fail("a decoded document's history does not integrate");
  }
  if (rebuilt.Text() != doc->Text() || rebuilt.GetVersion() != doc->GetVersion()) {
    Fail("a decoded document is not what integrating its history gives");
  }
  auto again = TextDoc::Decode(doc->Encode(), AgentId{7});
  if (!again.ok() || again->Text() != doc->Text() || again->GetVersion() != doc->GetVersion()) {
    Fail("encode/decode does not round-trip");
  }
  doc->Insert(doc->size() / 2, "x");  // A decoded document edits on.
  doc->CheckInvariants();
  return 0;
}
