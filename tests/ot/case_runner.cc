#include "tests/ot/case_runner.h"

#include <string>
#include <vector>

#include "base/utf8.h"

namespace quire::ot::test {

using nlohmann::json;

Result<TextOp> OpFromJson(const json& j) {
  if (!j.is_array()) return InvalidArgument("op is not an array");
  std::vector<Component> comps;
  for (const json& c : j) {
    if (c.is_number_unsigned()) {
      comps.push_back(Component::Retain(c.get<size_t>()));
    } else if (c.is_string()) {
      comps.push_back(Component{Component::Kind::kInsert, 0, c.get<std::string>()});
    } else if (c.is_object() && c.contains("d") && c.at("d").is_number_unsigned()) {
      comps.push_back(Component::Delete(c.at("d").get<size_t>()));
    } else {
      return InvalidArgument("bad component " + c.dump());
    }
  }
  return TextOp::FromComponents(std::move(comps));
}

json OpToJson(const TextOp& op) {
  json out = json::array();
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Component::Kind::kRetain: out.push_back(c.count); break;
      case Component::Kind::kInsert: out.push_back(c.text); break;
      case Component::Kind::kDelete: out.push_back(json{{"d", c.count}}); break;
    }
  }
  return out;
}

namespace {

json TextOrError(const Result<std::string>& r) {
  return r.ok() ? json(*r) : json{{"error", r.status().ToString()}};
}

json Positions(size_t doc_length, const TextOp& op) {
  json out = json::array();
  for (size_t p = 0; p <= doc_length + 1; ++p) {
    out.push_back(TransformPosition(p, op, Stick::kBefore));
  }
  return out;
}

}  // namespace

Result<json> RunCase(const json& in) {
  for (const char* key : {"doc", "a", "b", "c", "h"}) {
    if (!in.contains(key)) return InvalidArgument(std::string("the case has no ") + key);
  }
  if (!in.at("doc").is_string() || !in.at("h").is_array()) {
    return InvalidArgument("doc must be a string and h an array");
  }
  const std::string doc = in.at("doc").get<std::string>();
  Result<size_t> len = utf8::Validate(doc);
  if (!len.ok()) return len.status();
  Result<TextOp> a = OpFromJson(in.at("a"));
  Result<TextOp> b = OpFromJson(in.at("b"));
  Result<TextOp> c = OpFromJson(in.at("c"));
  if (!a.ok()) return a.status();
  if (!b.ok()) return b.status();
  if (!c.ok()) return c.status();
  std::vector<TextOp> history;
  for (const json& h : in.at("h")) {
    Result<TextOp> op = OpFromJson(h);
    if (!op.ok()) return op.status();
    history.push_back(*std::move(op));
  }
  json out;
  out["norm_a"] = OpToJson(*a);
  out["norm_b"] = OpToJson(*b);
  out["apply_a"] = TextOrError(Apply(doc, *a));
  out["apply_b"] = TextOrError(Apply(doc, *b));
  out["a_left"] = OpToJson(Transform(*a, *b, Side::kLeft));
  out["a_right"] = OpToJson(Transform(*a, *b, Side::kRight));
  out["b_left"] = OpToJson(Transform(*b, *a, Side::kLeft));
  out["b_right"] = OpToJson(Transform(*b, *a, Side::kRight));
  TextOp local = *a;
  TextOp remote = *b;
  TransformX(&local, &remote);
  out["x_local"] = OpToJson(local);
  out["x_remote"] = OpToJson(remote);
  out["compose_ab"] = OpToJson(Compose(*a, Transform(*b, *a, Side::kRight)));
  out["compose_ac"] = OpToJson(Compose(*a, *c));
  out["compose_h"] = OpToJson(ComposeAll(history));
  out["rebase"] = OpToJson(Rebase(*a, history));
  TextOp right = *a;
  for (const TextOp& h : history) right = Transform(right, h, Side::kRight);
  out["rebase_right"] = OpToJson(right);
  Result<TextOp> inv = Invert(*a, doc);
  out["invert_a"] = inv.ok() ? OpToJson(*inv) : json{{"error", inv.status().ToString()}};
  out["pos_a"] = Positions(*len, *a);
  out["pos_b"] = Positions(*len, *b);
  // A caret carried across the history, op by op, as a server would.
  json pos_h = json::array();
  for (size_t p = 0; p <= *len + 1; ++p) {
    size_t q = p;
    for (const TextOp& h : history) q = TransformPosition(q, h, Stick::kBefore);
    pos_h.push_back(q);
  }
  out["pos_h"] = std::move(pos_h);
  return out;
}

}  // namespace quire::ot::test
