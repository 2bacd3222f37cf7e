// The binary format of a whole document with its history (TextDoc::Encode
// and TextDoc::Decode), specified byte by byte in docs/crdt_format.md.
//
// Decode accepts exactly the documents Apply() could have built: it checks
// every count against the bytes that carry it and every reference, derives
// the origins the order implies, and checks the order against them; when
// some origins are explicit (concurrent inserts) it integrates the inserts
// again and requires the order they give. Anything else is Corruption;
// a document past the caller's limits is ResourceExhausted.
//
// Thread safety: pure functions.
#ifndef QUIRE_CRDT_INTERNAL_ENCODING_H_
#define QUIRE_CRDT_INTERNAL_ENCODING_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crdt/id.h"
#include "crdt/limits.h"

namespace quire::crdt::internal {

inline constexpr char kDocMagic[4] = {'Q', 'D', 'O', 'C'};
inline constexpr uint8_t kDocFormatVersion = 1;
inline constexpr uint8_t kDocFlagZstd = 1;
// Op run kinds in the encoding: an insert whose origins the document order
// predicts, a delete, an insert with its origins written out.
inline constexpr uint64_t kPredictedInsert = 0;
inline constexpr uint64_t kDeleteRun = 1;
inline constexpr uint64_t kExplicitInsert = 2;

class DocState;
std::string EncodeDoc(const DocState& doc);
// Time and memory are linear in the decoded body, which is at most
// limits.max_bytes (checked before decompressing).
Result<std::unique_ptr<DocState>> DecodeDoc(std::string_view bytes, AgentId agent,
                                            const DocLimits& limits);

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_ENCODING_H_
