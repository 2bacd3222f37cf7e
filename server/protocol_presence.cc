// Presence states and anchors on the wire (docs/protocol.md, "Presence and
// broadcast"), both directions.
#include "server/protocol_presence.h"

#include "base/utf8.h"

namespace quire::server {
namespace {

constexpr uint32_t kMaxSelectionsOnWire = 1024;  // Presence refuses more than 16 anyway.

void PackAnchor(wire::Packer& pk, const presence::Anchor& a) {
  if (a.id.IsRoot()) {
    pk.pack_array(0);
    return;
  }
  pk.pack_array(3);
  pk.pack_uint64(a.id.agent.value);
  pk.pack_uint64(a.id.seq);
  pk.pack_uint8(a.after ? 1 : 0);
}

void PackWireAnchor(wire::Packer& pk, const WireAnchor& a) {
  if (const uint64_t* pos = std::get_if<uint64_t>(&a)) {
    pk.pack_uint64(*pos);
  } else {
    PackAnchor(pk, std::get<presence::Anchor>(a));
  }
}

bool ReadString(wire::Reader& r, size_t max, std::string* out) {
  std::string_view s;
  if (!r.Str(&s) || s.size() > max || !utf8::Validate(s).ok()) return false;
  out->assign(s);
  return true;
}

}  // namespace

bool ReadWireAnchor(wire::Reader& r, WireAnchor* out) {
  if (r.Peek() == wire::Type::kInt) {
    uint64_t pos;
    if (!r.Uint(&pos)) return false;
    *out = pos;
    return true;
  }
  uint32_t n;
  if (!r.ArrayHeader(&n)) return false;
  presence::Anchor a;
  if (n == 0) {
    *out = a;
    return true;
  }
  uint64_t side;
  if (n != 3 || !r.Uint(&a.id.agent.value) || !r.Uint(&a.id.seq) || !r.Uint(&side) || side > 1 ||
      a.id.agent.value == crdt::kRootAgent) {
    return false;
  }
  a.after = side == 1;
  *out = a;
  return true;
}

std::string ReadWireState(wire::Reader& r, WireState* out) {
  uint32_t n;
  if (!r.MapHeader(&n)) return "state is not a map";
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.Str(&key)) return "a state key is not a string";
    if (key == "user") {
      uint32_t k;
      if (!r.MapHeader(&k)) return "user is not a map";
      for (uint32_t j = 0; j < k; ++j) {
        std::string_view uk;
        std::string value;
        if (!r.Str(&uk) || !ReadString(r, 256, &value)) return "user has a bad field";
        if (uk == "name") out->name = std::move(value);
        if (uk == "color") out->color = std::move(value);
        if (uk == "id") out->user_id = std::move(value);
      }
      out->keys |= presence::kUser;
    } else if (key == "cursor") {
      if (r.Peek() == wire::Type::kNil) {
        r.Nil();
        out->cursor.reset();
      } else {
        WireAnchor a;
        if (!ReadWireAnchor(r, &a)) return "cursor is not an anchor";
        out->cursor = a;
      }
      out->keys |= presence::kCursor;
    } else if (key == "sel") {
      uint32_t k;
      if (!r.ArrayHeader(&k) || k > kMaxSelectionsOnWire) return "sel is not an array";
      out->selections.clear();
      for (uint32_t j = 0; j < k; ++j) {
        uint32_t pair;
        WireSelection s;
        if (!r.ArrayHeader(&pair) || pair != 2 || !ReadWireAnchor(r, &s.anchor) ||
            !ReadWireAnchor(r, &s.head)) {
          return "sel " + std::to_string(j) + " is not [anchor, head]";
        }
        out->selections.push_back(s);
      }
      out->keys |= presence::kSelections;
    } else if (key == "typing") {
      if (!r.Bool(&out->typing)) return "typing is not a bool";
      out->keys |= presence::kTyping;
    } else if (key == "app") {
      std::string_view bytes;
      if (r.Peek() == wire::Type::kNil) {
        r.Nil();
        out->app.clear();
      } else if (r.Peek() != wire::Type::kMap || !r.Skip(&bytes)) {
        return "app is not a map";
      } else {
        out->app.assign(bytes);
      }
      out->keys |= presence::kApp;
    } else if (!r.Skip()) {
      return "state key " + std::to_string(i) + " is malformed";
    }
  }
  return {};
}

void PackWireState(wire::Buffer& buf, wire::Packer& pk, const WireState& s) {
  const uint32_t n = __builtin_popcount(s.keys & presence::kAllKeys);
  pk.pack_map(n);
  if (s.keys & presence::kUser) {
    wire::PackStr(pk, "user");
    pk.pack_map((s.user_id.empty() ? 0 : 1) + (s.name ? 1 : 0) + (s.color ? 1 : 0));
    if (!s.user_id.empty()) wire::PackStr(pk, "id"), wire::PackStr(pk, s.user_id);
    if (s.name) wire::PackStr(pk, "name"), wire::PackStr(pk, *s.name);
    if (s.color) wire::PackStr(pk, "color"), wire::PackStr(pk, *s.color);
  }
  if (s.keys & presence::kCursor) {
    wire::PackStr(pk, "cursor");
    if (s.cursor) {
      PackWireAnchor(pk, *s.cursor);
    } else {
      pk.pack_nil();
    }
  }
  if (s.keys & presence::kSelections) {
    wire::PackStr(pk, "sel");
    pk.pack_array(static_cast<uint32_t>(s.selections.size()));
    for (const WireSelection& sel : s.selections) {
      pk.pack_array(2);
      PackWireAnchor(pk, sel.anchor);
      PackWireAnchor(pk, sel.head);
    }
  }
  if (s.keys & presence::kTyping) {
    wire::PackStr(pk, "typing");
    wire::PackBool(pk, s.typing);
  }
  if (s.keys & presence::kApp) {
    wire::PackStr(pk, "app");
    if (s.app.empty()) {
      pk.pack_nil();
    } else {
      buf.write(s.app.data(), s.app.size());  // Already one msgpack map.
    }
  }
}

WireState ToWire(const presence::State& s, uint8_t keys,
                 const std::function<uint64_t(const presence::Anchor&)>* position) {
  auto anchor = [&](const presence::Anchor& a) -> WireAnchor {
    if (position != nullptr) return (*position)(a);
    return a;
  };
  WireState w;
  w.keys = keys;
  if (keys & presence::kUser) {
    w.user_id = s.user_id;
    w.name = s.name;
    w.color = s.color;
  }
  if ((keys & presence::kCursor) && s.cursor) w.cursor = anchor(*s.cursor);
  if (keys & presence::kSelections) {
    for (const presence::Selection& sel : s.selections) {
      w.selections.push_back(WireSelection{anchor(sel.anchor), anchor(sel.head)});
    }
  }
  w.typing = s.typing;
  if (keys & presence::kApp) w.app = s.app;
  return w;
}

}  // namespace quire::server
