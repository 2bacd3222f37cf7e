#include "storage/internal/meta_cache.h"

namespace quire::storage::internal {

Result<DocMeta>* MetaCache::Find(const std::string& doc) {
  auto it = entries_.find(doc);
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return &it->second.meta;
}

void MetaCache::Put(const std::string& doc, Result<DocMeta> meta) {
  auto it = entries_.find(doc);
  if (it != entries_.end()) {
    it->second.meta = std::move(meta);
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  lru_.push_front(doc);
  entries_.emplace(doc, Entry{std::move(meta), lru_.begin()});
}

void MetaCache::Erase(const std::string& doc) {
  auto it = entries_.find(doc);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void MetaCache::Trim(const std::function<bool(const std::string&)>& keep) {
  auto it = lru_.end();
  while (entries_.size() > capacity_ && it != lru_.begin()) {
    --it;
    if (keep && keep(*it)) continue;
    entries_.erase(*it);
    it = lru_.erase(it);
  }
}

}  // namespace quire::storage::internal
