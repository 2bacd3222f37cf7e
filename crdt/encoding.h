// The binary format of a whole document with its history (TextDoc::Encode
// and TextDoc::Decode), specified byte by byte in docs/crdt_format.md.
// Decoding rebuilds the document by integrating the stored ops, so every
// decoded document is one that Apply() could have built; anything else is
// Corruption.
#ifndef QUIRE_CRDT_ENCODING_H_
#define QUIRE_CRDT_ENCODING_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crdt/id.h"

namespace quire::crdt {

inline constexpr char kDocMagic[4] = {'Q', 'D', 'O', 'C'};
inline constexpr uint8_t kDocFormatVersion = 1;
// Decoded bodies larger than this are refused (ResourceExhausted).
inline constexpr size_t kMaxDocBodyBytes = size_t{1} << 28;

namespace internal {
class DocState;
std::string EncodeDoc(const DocState& doc);
Result<std::unique_ptr<DocState>> DecodeDoc(std::string_view bytes, AgentId agent);
}  // namespace internal

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_ENCODING_H_
