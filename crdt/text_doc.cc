#include "crdt/text_doc.h"

#include <cassert>

#include "base/utf8.h"
#include "crdt/internal/doc_state.h"

namespace quire::crdt {

uint64_t Op::Length() const {
  return kind == Kind::kInsert ? utf8::CountCodePoints(text) : len;
}

uint64_t Change::Length() const {
  uint64_t n = 0;
  for (const Op& op : ops) n += op.Length();
  return n;
}

TextDoc::TextDoc(AgentId agent) : state_(std::make_unique<internal::DocState>(agent)) {
  assert(agent.value != kRootAgent);
}
TextDoc::TextDoc(std::unique_ptr<internal::DocState> state) : state_(std::move(state)) {}
TextDoc::~TextDoc() = default;
TextDoc::TextDoc(const TextDoc& other)
    : state_(std::make_unique<internal::DocState>(*other.state_)) {}
TextDoc& TextDoc::operator=(const TextDoc& other) {
  if (this != &other) state_ = std::make_unique<internal::DocState>(*other.state_);
  return *this;
}
TextDoc::TextDoc(TextDoc&&) noexcept = default;
TextDoc& TextDoc::operator=(TextDoc&&) noexcept = default;

AgentId TextDoc::agent() const { return state_->agent(); }

Change TextDoc::Insert(size_t pos, std::string_view utf8) {
  assert(pos <= size());
  assert(state_->history().size() + utf8.size() <= internal::DocState::kMaxOps);
  return state_->Insert(static_cast<uint32_t>(pos), utf8);
}

Change TextDoc::Remove(size_t pos, size_t len) {
  assert(pos + len <= size());
  return state_->Remove(static_cast<uint32_t>(pos), static_cast<uint32_t>(len));
}

void TextDoc::LocalInsert(size_t pos, std::string_view utf8) {
  assert(pos <= size());
  // One keystroke is the common case.
  const auto n = utf8.size() == 1 ? 1u : static_cast<uint32_t>(utf8::CountCodePoints(utf8));
  if (n == 0) return;
  internal::Lv left, right;
  state_->LocalInsert(static_cast<uint32_t>(pos), utf8, n, &left, &right);
}

void TextDoc::LocalRemove(size_t pos, size_t len) {
  assert(pos + len <= size());
  state_->LocalRemove(static_cast<uint32_t>(pos), static_cast<uint32_t>(len), nullptr);
}

Result<std::vector<Change>> TextDoc::ApplyLocalOp(const ot::TextOp& op) {
  if (op.BaseLength() > size()) return OutOfRange("op is longer than the document");
  if (state_->history().size() + op.InsertedLength() + op.DeletedLength() >
      internal::DocState::kMaxOps) {
    return ResourceExhausted("the document would hold more than 2^31 ops");
  }
  std::vector<Change> changes;
  size_t pos = 0;
  for (const ot::Component& c : op.components()) {
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        pos += c.count;
        break;
      case ot::Component::Kind::kInsert:
        changes.push_back(Insert(pos, c.text));
        pos += c.count;
        break;
      case ot::Component::Kind::kDelete:
        changes.push_back(Remove(pos, c.count));
        break;
    }
  }
  return changes;
}

Result<ot::TextOp> TextDoc::Apply(const Change& change) {
  ot::TextOp patch;
  QUIRE_RETURN_IF_ERROR(state_->Apply(change, &patch));
  return patch;
}

Status TextDoc::Integrate(const Change& change) { return state_->Apply(change, nullptr); }

std::vector<Change> TextDoc::ChangesSince(const Version& version) const {
  return state_->ChangesSince(version);
}

Status TextDoc::Merge(const TextDoc& other) { return state_->Merge(*other.state_); }

Version TextDoc::GetVersion() const { return state_->GetVersion(); }
Frontier TextDoc::GetFrontier() const { return state_->GetFrontier(); }
std::vector<Id> TextDoc::MissingDependencies() const { return state_->MissingDependencies(); }
size_t TextDoc::PendingCount() const { return state_->PendingCount(); }
size_t TextDoc::size() const { return state_->tree().visible_len(); }
std::string TextDoc::Text() const { return state_->Text(); }
size_t TextDoc::MemoryUsage() const { return sizeof(*this) + state_->MemoryUsage(); }
void TextDoc::CheckInvariants() const { state_->CheckInvariants(); }

}  // namespace quire::crdt
