#include "crdt/text_doc.h"

#include <cassert>
#include <iterator>

#include "base/utf8.h"
#include "crdt/internal/doc_state.h"

namespace quire::crdt {

uint64_t Op::Length() const { return kind == Kind::kInsert ? utf8::CountCodePoints(text) : len; }

uint64_t Change::Length() const {
  uint64_t n = 0;
  for (const Op& op : ops) n += op.Length();
  return n;
}

TextDoc::TextDoc(AgentId agent, const DocLimits& limits)
    : state_(std::make_unique<internal::DocState>(agent, limits.Clamped())) {
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
const DocLimits& TextDoc::limits() const { return state_->limits(); }

Change TextDoc::Insert(size_t pos, std::string_view utf8) {
  assert(pos <= size());
  assert(state_->CheckLocalEdit(ot::TextOp().Retain(pos).Insert(utf8)).ok());
  return state_->Insert(static_cast<uint32_t>(pos), utf8);
}

Change TextDoc::Remove(size_t pos, size_t len) {
  assert(pos + len <= size());
  assert(state_->CheckLocalEdit(ot::TextOp().Retain(pos).Delete(len)).ok());
  return state_->Remove(static_cast<uint32_t>(pos), static_cast<uint32_t>(len));
}

void TextDoc::LocalInsert(size_t pos, std::string_view utf8) {
  assert(pos <= size());
  // One keystroke is the common case.
  const auto n = utf8.size() == 1 ? 1u : static_cast<uint32_t>(utf8::CountCodePoints(utf8));
  if (n == 0) return;
  assert(state_->CheckLocalEdit(ot::TextOp().Retain(pos).Insert(utf8)).ok());
  internal::Lv left, right;
  state_->LocalInsert(static_cast<uint32_t>(pos), utf8, n, &left, &right);
}

void TextDoc::LocalRemove(size_t pos, size_t len) {
  assert(pos + len <= size());
  assert(state_->CheckLocalEdit(ot::TextOp().Retain(pos).Delete(len)).ok());
  state_->LocalRemove(static_cast<uint32_t>(pos), static_cast<uint32_t>(len), nullptr);
}

Result<std::vector<Change>> TextDoc::ApplyLocalOp(const ot::TextOp& op) {
  if (op.BaseLength() > size()) return OutOfRange("op is longer than the document");
  QUIRE_RETURN_IF_ERROR(state_->CheckLocalEdit(op));
  std::vector<Change> changes;
  size_t pos = 0;
  for (const ot::Component& c : op.components()) {
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        pos += c.count;
        break;
      case ot::Component::Kind::kInsert:
        changes.push_back(state_->Insert(static_cast<uint32_t>(pos), c.text));
        pos += c.count;
        break;
      case ot::Component::Kind::kDelete:
        changes.push_back(
            state_->Remove(static_cast<uint32_t>(pos), static_cast<uint32_t>(c.count)));
        break;
    }
  }
  return changes;
}

Result<Change> TextDoc::ApplyLocalOpAs(AgentId agent, const ot::TextOp& op) {
  assert(agent.value != kRootAgent);
  if (op.IsNoop()) return InvalidArgument("the op changes nothing");
  const AgentId own = state_->agent();
  state_->SetAgent(agent);
  Result<std::vector<Change>> changes = ApplyLocalOp(op);
  state_->SetAgent(own);
  if (!changes.ok()) return changes.status();
  // Each change after the first has the one before as its only parent
  // (local edits follow each other), so together they are one change.
  Change merged = std::move(changes->front());
  for (size_t i = 1; i < changes->size(); ++i) {
    Change& c = (*changes)[i];
    assert(c.id.agent == merged.id.agent && c.id.seq == merged.id.seq + merged.Length());
    merged.ops.insert(merged.ops.end(), std::make_move_iterator(c.ops.begin()),
                      std::make_move_iterator(c.ops.end()));
  }
  return merged;
}

Result<ot::TextOp> TextDoc::Apply(const Change& change) {
  ot::TextOp patch;
  QUIRE_RETURN_IF_ERROR(state_->Apply(change, &patch));
  return patch;
}

Status TextDoc::Integrate(const Change& change) { return state_->Apply(change, nullptr); }

Status TextDoc::ValidateChange(const Change& change) { return state_->ValidateCausalPast(change); }

std::vector<Change> TextDoc::ChangesSince(const Version& version) const {
  return state_->ChangesSince(version);
}

Status TextDoc::Merge(const TextDoc& other) { return state_->Merge(*other.state_); }

Version TextDoc::GetVersion() const { return state_->GetVersion(); }
Frontier TextDoc::GetFrontier() const { return state_->GetFrontier(); }
uint64_t TextDoc::NextSeq(AgentId agent) const { return state_->NextSeq(agent); }

Id TextDoc::IdAt(size_t pos) {
  assert(pos < size());
  return state_->IdAt(static_cast<uint32_t>(pos));
}

Result<size_t> TextDoc::PositionOf(const Id& id, bool after) {
  uint32_t pos;
  if (!state_->PositionOf(id, after, &pos)) {
    return NotFound("no character " + std::to_string(id.agent.value) + ":" +
                    std::to_string(id.seq) + " here");
  }
  return size_t{pos};
}
std::vector<Id> TextDoc::MissingDependencies() const { return state_->MissingDependencies(); }
size_t TextDoc::PendingCount() const { return state_->PendingCount(); }
size_t TextDoc::size() const { return state_->tree().visible_len(); }
std::string TextDoc::Text() const { return state_->Text(); }
uint64_t TextDoc::OpCount() const { return state_->history().size(); }
uint64_t TextDoc::ByteSize() const { return state_->EncodedBytesBound(); }
size_t TextDoc::MemoryUsage() const { return sizeof(*this) + state_->MemoryUsage(); }
void TextDoc::CheckInvariants() const { state_->CheckInvariants(); }

}  // namespace quire::crdt
