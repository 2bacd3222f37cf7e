#!/usr/bin/env python3
"""Independent reference ("oracle") test-vector generator for the OT text module.

Usage:
    python3 tests/ot/gen_vectors.py > tests/ot/vectors.json
    python3 tests/ot/gen_vectors.py --out tests/ot/vectors.json [--seed N]

Standard library only.  The implementation is deliberately naive: every op is
expanded against its base text into a per-character / per-gap model and all
operations (apply, transform, compose, invert, transformPosition) are computed
on that model.  It shares no code or structure with the usual streaming
two-cursor implementation, which is the point.

Op model (same JSON form as the npm package ot-text-unicode):
    positive int  -> retain n code points
    str           -> insert text
    {"d": n}      -> delete n code points
Lengths count Unicode code points (Python str indices; no lone surrogates).

Normalized form:
  1. no empty components;
  2. adjacent components of the same kind merged;
  3. between two retains (or op start/end) at most one insert followed by at
     most one delete (delete-then-insert is rewritten insert-then-delete);
  4. no trailing retain.  [] is the identity.
"""

import argparse
import json
import random
import sys

DEFAULT_SEED = 20240611


class OTError(Exception):
    pass


# ---------------------------------------------------------------------------
# Component helpers
# ---------------------------------------------------------------------------

def kind(c):
    if isinstance(c, bool):
        raise OTError("bad component %r" % (c,))
    if isinstance(c, int):
        return "r"
    if isinstance(c, str):
        return "i"
    if isinstance(c, dict) and set(c) == {"d"} and isinstance(c["d"], int) \
            and not isinstance(c["d"], bool):
        return "d"
    raise OTError("bad component %r" % (c,))


def normalize(op):
    """Normalize an arbitrary (possibly messy) component list.

    Splits the op into segments separated by retains; within a segment all
    inserted text is concatenated (in order) and all deletes summed, then the
    segment is re-emitted as insert-then-delete.
    """
    out = []              # list of ("r", n) / ("seg", text, ndel)
    seg_text = []
    seg_del = 0
    pending_retain = 0

    def flush_segment():
        nonlocal seg_text, seg_del
        text = "".join(seg_text)
        if text or seg_del:
            out.append(("seg", text, seg_del))
        seg_text = []
        seg_del = 0

    for c in op:
        k = kind(c)
        if k == "r":
            if c < 0:
                raise OTError("negative retain")
            if c == 0:
                continue
            if seg_text or seg_del:
                if pending_retain:
                    out.append(("r", pending_retain))
                    pending_retain = 0
                flush_segment()
            pending_retain += c
        else:
            if k == "d" and c["d"] < 0:
                raise OTError("negative delete")
            if (k == "i" and c == "") or (k == "d" and c["d"] == 0):
                continue
            if pending_retain:
                out.append(("r", pending_retain))
                pending_retain = 0
            if k == "i":
                seg_text.append(c)
            else:
                seg_del += c["d"]
    flush_segment()
    # trailing pending_retain dropped (rule 4)
    res = []
    for item in out:
        if item[0] == "r":
            res.append(item[1])
        else:
            if item[1]:
                res.append(item[1])
            if item[2]:
                res.append({"d": item[2]})
    return res


def is_normalized(op):
    try:
        return normalize(op) == op
    except OTError:
        return False


def op_input_length(op):
    """Retains + deletes (the minimum base length the op needs)."""
    n = 0
    for c in op:
        k = kind(c)
        if k == "r":
            n += c
        elif k == "d":
            n += c["d"]
    return n


# ---------------------------------------------------------------------------
# Per-gap model
# ---------------------------------------------------------------------------

class Model:
    """ins[g] for g in 0..L (text inserted in gap g, i.e. before base char g;
    gap L is the end); deleted[i] for i in 0..L-1."""

    def __init__(self, L):
        self.L = L
        self.ins = [""] * (L + 1)
        self.deleted = [False] * L

    def to_op(self):
        comps = []
        for g in range(self.L + 1):
            if self.ins[g]:
                comps.append(self.ins[g])
            if g < self.L:
                comps.append({"d": 1} if self.deleted[g] else 1)
        return normalize(comps)


def expand(op, L):
    """Expand op against a base text of length L into a Model."""
    if op_input_length(op) > L:
        raise OTError("op too long for document (%d > %d)"
                      % (op_input_length(op), L))
    m = Model(L)
    pos = 0  # current gap / next base char
    for c in op:
        k = kind(c)
        if k == "r":
            if c <= 0:
                raise OTError("non-positive retain")
            pos += c
        elif k == "i":
            if c == "":
                raise OTError("empty insert")
            m.ins[pos] += c
        else:
            n = c["d"]
            if n <= 0:
                raise OTError("non-positive delete")
            for i in range(pos, pos + n):
                m.deleted[i] = True
            pos += n
    return m


def apply(text, op):
    m = expand(op, len(text))
    out = []
    for g in range(len(text) + 1):
        out.append(m.ins[g])
        if g < len(text) and not m.deleted[g]:
            out.append(text[g])
    return "".join(out)


def transform(a, b, side, L):
    """a' such that a' applies after b (both made on a base of length L)."""
    if side not in ("left", "right"):
        raise OTError("bad side")
    ma = expand(a, L)
    mb = expand(b, L)
    comps = []
    for g in range(L + 1):
        ia, ib = ma.ins[g], mb.ins[g]
        if side == "left":
            if ia:
                comps.append(ia)
            if ib:
                comps.append(len(ib))
        else:
            if ib:
                comps.append(len(ib))
            if ia:
                comps.append(ia)
        if g < L:
            if mb.deleted[g]:
                continue            # char vanished
            comps.append({"d": 1} if ma.deleted[g] else 1)
    return normalize(comps)


def compose(a, b, L):
    """c with apply(text, c) == apply(apply(text, a), b); base length L."""
    ma = expand(a, L)
    # Stream of what a produces, in document order.  Each item:
    #   ("base", i)        base char i kept by a  -> a char of the middle text
    #   ("ains", ch)       char inserted by a    -> a char of the middle text
    #   ("adel", i)        base char i deleted by a (not in the middle text)
    stream = []
    for g in range(L + 1):
        for ch in ma.ins[g]:
            stream.append(("ains", ch))
        if g < L:
            stream.append(("adel", g) if ma.deleted[g] else ("base", g))
    M = sum(1 for it in stream if it[0] != "adel")
    mb = expand(b, M)
    comps = []
    j = 0  # index of next middle-text char
    for it in stream:
        if it[0] == "adel":
            comps.append({"d": 1})
            continue
        if mb.ins[j]:
            comps.append(mb.ins[j])
        if mb.deleted[j]:
            if it[0] == "base":
                comps.append({"d": 1})
            # a's inserted char deleted by b: vanishes
        else:
            comps.append(1 if it[0] == "base" else it[1])
        j += 1
    assert j == M
    if mb.ins[M]:
        comps.append(mb.ins[M])
    return normalize(comps)


def invert(a, text):
    ma = expand(a, len(text))
    comps = []
    for g in range(len(text) + 1):
        if ma.ins[g]:
            comps.append({"d": len(ma.ins[g])})
        if g < len(text):
            comps.append(text[g] if ma.deleted[g] else 1)
    return normalize(comps)


def transform_position(pos, op, stick, L):
    if not 0 <= pos <= L:
        raise OTError("position out of range")
    if stick not in ("before", "after"):
        raise OTError("bad stick")
    m = expand(op, L)
    res = pos
    for g in range(L + 1):
        n = len(m.ins[g])
        if g < pos or (g == pos and stick == "after"):
            res += n
    for i in range(L):
        if m.deleted[i] and i < pos:
            res -= 1
    return res


# ---------------------------------------------------------------------------
# Case construction + verification
# ---------------------------------------------------------------------------

def check(cond, msg, name):
    if not cond:
        raise AssertionError("case %r: %s" % (name, msg))


def rand_c(rng, a, doc, apply_a):
    """A random op on a's result that often edits the text a inserted (the
    case compose(a, transform(b, a)) never reaches)."""
    L = len(doc)
    ma = expand(a, L)
    inserted, pos = [], 0
    for g in range(L + 1):
        inserted.extend(range(pos, pos + len(ma.ins[g])))
        pos += len(ma.ins[g])
        if g < L and not ma.deleted[g]:
            pos += 1
    alpha = "".join(sorted(set(doc + apply_a))) or ALPHABETS["mixed"]
    m = rand_model(rng, len(apply_a), alpha)
    if inserted and rng.random() < 0.7:
        start = rng.choice(inserted)
        n = rng.randint(1, min(len(apply_a) - start, 4))
        for i in range(start, start + n):
            m.deleted[i] = True
        if rng.random() < 0.5:
            m.ins[rng.choice(inserted)] += rand_text(rng, alpha, 2)
    return m.to_op()


def make_case(name, doc, a, b):
    L = len(doc)
    for ch in doc:
        check(0 < ord(ch) and not 0xD800 <= ord(ch) <= 0xDFFF,
              "bad code point in doc", name)
    check(is_normalized(a), "a not normalized: %r" % (a,), name)
    check(is_normalized(b), "b not normalized: %r" % (b,), name)
    check(op_input_length(a) <= L and op_input_length(b) <= L,
          "op does not fit doc", name)

    apply_a = apply(doc, a)
    apply_b = apply(doc, b)
    a_b_l = transform(a, b, "left", L)
    a_b_r = transform(a, b, "right", L)
    b_a_l = transform(b, a, "left", L)
    b_a_r = transform(b, a, "right", L)
    for o in (a_b_l, a_b_r, b_a_l, b_a_r):
        check(is_normalized(o), "transform result not normalized", name)
    check(op_input_length(a_b_l) <= len(apply_b), "a'/b(l) too long", name)
    check(op_input_length(a_b_r) <= len(apply_b), "a'/b(r) too long", name)
    check(op_input_length(b_a_l) <= len(apply_a), "b'/a(l) too long", name)
    check(op_input_length(b_a_r) <= len(apply_a), "b'/a(r) too long", name)

    merged_l = apply(apply_b, a_b_l)
    merged_l2 = apply(apply_a, b_a_r)
    merged_r = apply(apply_b, a_b_r)
    merged_r2 = apply(apply_a, b_a_l)
    check(merged_l == merged_l2, "TP1 (a left) fails: %r vs %r"
          % (merged_l, merged_l2), name)
    check(merged_r == merged_r2, "TP1 (a right) fails: %r vs %r"
          % (merged_r, merged_r2), name)

    # Independent expectation of the merged text straight from the gap models.
    ma, mb = expand(a, L), expand(b, L)
    exp_l, exp_r = [], []
    for g in range(L + 1):
        exp_l.append(ma.ins[g] + mb.ins[g])
        exp_r.append(mb.ins[g] + ma.ins[g])
        if g < L and not ma.deleted[g] and not mb.deleted[g]:
            exp_l.append(doc[g])
            exp_r.append(doc[g])
    check(merged_l == "".join(exp_l), "merged_a_left model mismatch", name)
    check(merged_r == "".join(exp_r), "merged_a_right model mismatch", name)

    comp = compose(a, b_a_r, L)
    check(is_normalized(comp), "compose not normalized", name)
    check(apply(doc, comp) == merged_l, "compose identity fails", name)
    # more compose checks (not written out)
    check(apply(doc, compose(a, b_a_l, L)) == merged_r, "compose(l)", name)
    check(apply(doc, compose(b, a_b_l, L)) == merged_l, "compose(b)", name)
    check(compose([], a, L) == a and compose(a, [], L) == a,
          "compose identity op", name)

    c = rand_c(random.Random(name), a, doc, apply_a)
    check(is_normalized(c) and op_input_length(c) <= len(apply_a), "c", name)
    comp_c = compose(a, c, L)
    check(is_normalized(comp_c), "compose(a, c) not normalized", name)
    check(apply(doc, comp_c) == apply(apply_a, c), "compose(a, c) identity", name)

    inv = invert(a, doc)
    check(is_normalized(inv), "invert not normalized", name)
    check(apply(apply_a, inv) == doc, "invert identity fails", name)
    check(invert(inv, apply_a) == a, "double invert", name)
    check(apply(doc, compose(a, inv, L)) == doc, "compose(a, inv)", name)

    pb = [transform_position(p, a, "before", L) for p in range(L + 1)]
    pa = [transform_position(p, a, "after", L) for p in range(L + 1)]
    for p in range(L + 1):
        check(0 <= pb[p] <= pa[p] <= len(apply_a), "position range", name)
        if p:
            check(pb[p - 1] <= pb[p] and pa[p - 1] <= pa[p],
                  "positions not monotonic", name)
    # Check positions against a character-tracking model: text before the
    # cursor (kept chars + inserted text at gaps < pos) determines it.
    for p in range(L + 1):
        before = sum(len(ma.ins[g]) for g in range(p)) + \
            sum(1 for i in range(p) if not ma.deleted[i])
        check(pb[p] == before, "positions_before model", name)
        check(pa[p] == before + len(ma.ins[p]), "positions_after model", name)

    return {
        "name": name,
        "doc": doc,
        "a": a,
        "b": b,
        "apply_a": apply_a,
        "apply_b": apply_b,
        "a_over_b_left": a_b_l,
        "a_over_b_right": a_b_r,
        "b_over_a_left": b_a_l,
        "b_over_a_right": b_a_r,
        "merged_a_left": merged_l,
        "merged_a_right": merged_r,
        "compose": comp,
        "c": c,
        "compose_a_c": comp_c,
        "invert_a": inv,
        "positions_before": pb,
        "positions_after": pa,
    }


# ---------------------------------------------------------------------------
# Hand-written cases
# ---------------------------------------------------------------------------

D = lambda n: {"d": n}  # noqa: E731

HAND_CASES = [
    ("empty doc, identity ops", "", [], []),
    ("empty doc, both insert at 0 (tie)", "", ["x"], ["y"]),
    ("empty doc, emoji insert vs identity", "", ["😀"], []),
    ("same gap insert in middle", "hello", [2, "X"], [2, "YZ"]),
    ("same gap insert at very end", "hello", [5, "X"], [5, "Y"]),
    ("same gap insert at start", "hello", ["AB"], ["C"]),
    ("a inserts inside b's deleted range", "abcdef", [3, "X"], [1, D(4)]),
    ("overlapping deletes", "abcdef", [1, D(3)], [2, D(3)]),
    ("identical deletes", "abcdef", [2, D(2)], [2, D(2)]),
    ("delete whole doc vs insert at end", "abcdef", [D(6)], [6, "XYZ"]),
    ("delete whole doc vs insert at start", "abcdef", [D(6)], ["XYZ"]),
    ("both delete whole doc", "abc", [D(3)], [D(3)]),
    ("replace vs concurrent insert at same gap", "abcdef",
     [2, "XY", D(2)], [2, "Q"]),
    ("insert at end of other's replace range", "abcdef",
     [4, "Q"], [2, "XY", D(2)]),
    ("both replace same range", "abcdef", [1, "PQ", D(3)], [1, "R", D(3)]),
    ("deletes ending exactly at doc end", "abcdef", [3, D(3)], [4, D(2)]),
    ("delete at end vs insert at end", "abc", [2, D(1)], [3, "Z"]),
    ("insert at 0 vs delete from 0", "abcdef", ["XY"], [D(3)]),
    ("cursor inside delete with insert at start", "abcdef",
     [1, "XY", D(3)], [5, "!"]),
    ("4-byte code points", "a😀b𝄞c",
     [1, "🎉", D(1), 2, D(1)], [3, "👍", D(2)]),
    ("4-byte only, delete vs insert", "😀😁😂🤣",
     [1, D(2)], [2, "𝄞𝄢"]),
    ("2-byte code points", "éжßñü",
     ["Ω", 2, "λ", D(2)], [1, D(1), 2, "é"]),
    ("3-byte code points", "中文€字", [2, "€€", D(1)], [1, "あ", 2, "ア"]),
    ("combining sequences split", "e\u0301a\u0308o",
     [1, D(1), 2, "\u0327"], [1, "x", 2, D(1)]),
    ("ZWJ emoji sequence split", "👩\u200d👩\u200d👧!",
     [2, "👨", D(1)], [4, D(1), 1, "?"]),
    ("multi-component mixed", "The quick brown fox",
     [4, "slow", D(6), 6, "red ", 3, "es"],
     ["A ", 4, "very ", 5, D(1), 3, "-", D(6)]),
]


# ---------------------------------------------------------------------------
# Random cases
# ---------------------------------------------------------------------------

ALPHABETS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789 .,!?-_~{}\"'\\\t\n",
    "2byte": "éèàüößñçøåжзийклмнΩαβγλπσ¢£¥©®±µ¶",
    "3byte": "中文字国人日本語あいうえおアイウエオ한국어€₩₹™←→∀∂√∞‰",
    "4byte": "😀😁😂🤣😃🎉👍🙂🚀🌍𝄞𝄢𐍈𠜎𠮷🀄🃏",
}
ALPHABETS["mixed"] = (ALPHABETS["ascii"][:20] + ALPHABETS["2byte"][:12]
                      + ALPHABETS["3byte"][:12] + ALPHABETS["4byte"][:10]
                      + "\u0301\u0308\u0327\u200d\ufeff\ufffd")


def rand_text(rng, alpha, n):
    return "".join(rng.choice(alpha) for _ in range(n))


def rand_gap(rng, L):
    r = rng.random()
    if r < 0.2:
        return 0
    if r < 0.4:
        return L
    return rng.randint(0, L)


def rand_model(rng, L, alpha, ref=None):
    """Random op as a per-gap model: up to 6 edits (inserts/deletes); the
    implicit retains fill the rest.  If ref (another Model) is given, edits
    are sometimes placed at the same gaps / ranges as ref's to provoke ties
    and overlaps."""
    m = Model(L)
    nedits = rng.randint(0, 6)
    ref_gaps = [g for g in range(L + 1) if ref and ref.ins[g]] if ref else []
    ref_dels = [i for i in range(L) if ref and ref.deleted[i]] if ref else []
    for _ in range(nedits):
        if L == 0 or rng.random() < 0.5:
            if ref_gaps and rng.random() < 0.4:
                g = rng.choice(ref_gaps)
            else:
                g = rand_gap(rng, L)
            a2 = alpha if rng.random() < 0.8 else ALPHABETS["mixed"]
            m.ins[g] += rand_text(rng, a2, rng.randint(1, 4))
        else:
            if ref_dels and rng.random() < 0.4:
                start = rng.choice(ref_dels)
            else:
                r = rng.random()
                if r < 0.2:
                    start = 0
                else:
                    start = rng.randint(0, L - 1)
            n = rng.randint(1, min(L - start, 6))
            if rng.random() < 0.2:
                n = L - start     # delete through the very end
            for i in range(start, start + n):
                m.deleted[i] = True
    return m


def random_case(rng, idx, alpha_name, L):
    alpha = ALPHABETS[alpha_name]
    doc = rand_text(rng, alpha, L)
    ma = rand_model(rng, L, alpha)
    a = ma.to_op()
    mb = rand_model(rng, L, alpha, ref=ma if rng.random() < 0.4 else None)
    b = mb.to_op()
    return make_case("random %03d %s len%d" % (idx, alpha_name, L), doc, a, b)


def generate(seed):
    cases = []
    for name, doc, a, b in HAND_CASES:
        cases.append(make_case(name, doc, a, b))
    rng = random.Random(seed)
    names = ["ascii", "2byte", "3byte", "4byte", "mixed"]
    idx = 0
    # a few empty-doc cases per alphabet
    for alpha_name in names:
        for _ in range(3):
            cases.append(random_case(rng, idx, alpha_name, 0))
            idx += 1
    # short docs (more edge interaction) and longer ones
    for alpha_name in names:
        for _ in range(57):
            L = rng.randint(1, 8) if rng.random() < 0.35 else \
                rng.randint(1, 40)
            cases.append(random_case(rng, idx, alpha_name, L))
            idx += 1
    return cases


def render(seed, cases):
    head = {"version": 1, "generator": "tests/ot/gen_vectors.py",
            "seed": seed}
    lines = []
    h = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    lines.append(h[:-1] + ',"cases":[')
    for i, c in enumerate(cases):
        s = json.dumps(c, ensure_ascii=False, separators=(",", ":"))
        lines.append(s + ("," if i + 1 < len(cases) else ""))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    # round-trip sanity
    back = json.loads(text)
    assert back["cases"] == cases and back["seed"] == seed
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output file (default: stdout)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    cases = generate(args.seed)
    text = render(args.seed, cases).encode("utf-8")
    if args.out:
        with open(args.out, "wb") as f:
            f.write(text)
    else:
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    print("gen_vectors: wrote %d cases (seed %d, %d bytes)"
          % (len(cases), args.seed, len(text)), file=sys.stderr)


if __name__ == "__main__":
    main()
