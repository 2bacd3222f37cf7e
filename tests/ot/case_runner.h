// Runs one case of the ot-text-unicode comparison through ot/: what
// ot_diff_main.cc (the differential test's driver) prints for a random case
// and what vectors_test.cc checks against vectors.json. A case is
//   {"doc": text, "a": op, "b": op, "c": op, "h": [op, ...]}
// (a and b made on doc, c on a's result, h a history made on doc, oldest
// first; ops in ot-text-unicode's JSON form, not necessarily normalized).
// The result holds one value per key that tests/ot/reference.js computes
// with the package itself; reference.js says what each key means.
#ifndef QUIRE_TESTS_OT_CASE_RUNNER_H_
#define QUIRE_TESTS_OT_CASE_RUNNER_H_

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "ot/text_op.h"

namespace quire::ot::test {

// An op from its JSON form, through FromComponents as the server's decoder
// takes ops, so the normalization is checked too.
Result<TextOp> OpFromJson(const nlohmann::json& j);
nlohmann::json OpToJson(const TextOp& op);

// InvalidArgument when the case is malformed (a missing key, a bad op).
Result<nlohmann::json> RunCase(const nlohmann::json& in);

}  // namespace quire::ot::test

#endif  // QUIRE_TESTS_OT_CASE_RUNNER_H_
