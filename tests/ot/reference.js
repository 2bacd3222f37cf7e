// What ot-text-unicode 4.0.0 (ShareDB's text type, the reference for ot/)
// computes for a case, and a seeded generator of cases where inserts and
// deletes meet. Shared by gen_vectors.js (which writes vectors.json) and
// ot_diff.js (which checks ot/ against the package on random cases).
//
// A case is {doc, a, b, c, h}: a and b made on doc, c made on a's result,
// h a history made on doc (oldest first). Ops are in ot-text-unicode's JSON
// form and need not be normalized (split retains, adjacent inserts, a
// trailing retain): the package normalizes them first, as ShareDB's client
// does before it sends an op, and ot/'s FromComponents must do the same.
'use strict';

const {type} = require('ot-text-unicode');

const clone = (x) => JSON.parse(JSON.stringify(x));
// normalize() merges neighbouring deletes by writing into the input's
// objects, so every call gets its own copy.
const normalize = (op) => type.normalize(clone(op));
const codePoints = (s) => [...s].length;

// ShareDB's conventions, written out: the server catches an arriving op up
// with 'left' against each op it accepted since (SubmitRequest ->
// ot.transform), and a client's transformX gives its own op 'left' and the
// server's op 'right' (lib/client/doc.js).
function serverRebase(op, history) {
  return history.reduce((o, h) => type.transform(o, h, 'left'), op);
}
function transformX(local, remote) {
  return [type.transform(local, remote, 'left'), type.transform(remote, local, 'right')];
}

// Every value ot_diff_main.cc prints for the case, as the package gives it.
// Positions run from 0 to one past the end of the document.
function expected(c) {
  const a = normalize(c.a);
  const b = normalize(c.b);
  const h = c.h.map(normalize);
  const positions = (op) =>
    Array.from({length: codePoints(c.doc) + 2}, (_, p) => type.transformPosition(p, op));
  const [xLocal, xRemote] = transformX(a, b);
  return {
    norm_a: a,
    norm_b: b,
    apply_a: type.apply(c.doc, a),
    apply_b: type.apply(c.doc, b),
    a_left: type.transform(a, b, 'left'),
    a_right: type.transform(a, b, 'right'),
    b_left: type.transform(b, a, 'left'),
    b_right: type.transform(b, a, 'right'),
    x_local: xLocal,
    x_remote: xRemote,
    compose_ab: type.compose(a, type.transform(b, a, 'right')),
    compose_ac: type.compose(a, normalize(c.c)),
    // A left fold, as a ShareDB client composes its pending ops.
    compose_h: h.reduce((x, y) => type.compose(x, y), []),
    rebase: serverRebase(a, h),
    rebase_right: h.reduce((o, y) => type.transform(o, y, 'right'), a),
    // Quire's Invert(op, text) is invertWithDoc without the deleted text.
    invert_a: type.stripInvertible(type.invertWithDoc(a, c.doc)),
    pos_a: positions(a),
    pos_b: positions(b),
    pos_h: Array.from({length: codePoints(c.doc) + 2},
                      (_, p) => h.reduce((q, y) => type.transformPosition(q, y), p)),
  };
}

// mulberry32: small, seeded, the same sequence on every Node version.
function makeRng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),  // Inclusive.
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

// Characters of every UTF-8 length, astral ones (two UTF-16 units, one code
// point) among them. Inserted text also carries what JSON must escape.
const kDocChars = ['a', 'b', 'c', 'd', 'é', 'ж', '中', '€', '😀', '𝄞', '\n'];
const kInsertChars = ['x', 'y', 'z', 'ñ', '語', '🙂', '🎉', '"', '\\', '\t'];

function randomText(rng, chars, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(chars);
  return s;
}

// An op on a document of `len` code points built from clusters: a retain,
// then one to four inserts and deletes back to back, so deletes meet
// inserts on both sides. Sometimes left unnormalized on purpose.
function randomOp(rng, len) {
  const op = [];
  let pos = 0;
  const clusters = rng.int(0, 3);
  for (let i = 0; i < clusters; i++) {
    if (pos < len && rng.chance(0.6)) {
      const k = rng.int(1, len - pos);
      if (k > 1 && rng.chance(0.1)) {
        op.push(1, k - 1);  // A split retain.
      } else {
        op.push(k);
      }
      pos += k;
    }
    const parts = rng.int(1, 4);
    for (let j = 0; j < parts; j++) {
      if (pos < len && rng.chance(0.5)) {
        const k = rng.int(1, Math.min(3, len - pos));
        op.push({d: k});
        pos += k;
      } else {
        op.push(randomText(rng, kInsertChars, rng.int(1, 3)));
      }
    }
  }
  if (pos < len && rng.chance(0.1)) op.push(len - pos);  // A trailing retain.
  return op;
}

// A history like typing: mostly one-character edits near one place,
// sometimes a random op.
function randomHistory(rng, doc) {
  const h = [];
  let text = doc;
  const n = rng.int(0, 5);
  for (let i = 0; i < n; i++) {
    const len = codePoints(text);
    let op;
    if (rng.chance(0.5)) {
      op = randomOp(rng, len);
    } else {
      const at = rng.int(0, len);
      const edit = at < len && rng.chance(0.4) ? {d: 1} : randomText(rng, kInsertChars, 1);
      op = at === 0 ? [edit] : [at, edit];
    }
    h.push(op);
    text = type.apply(text, normalize(op));
  }
  return h;
}

function randomCase(rng) {
  const doc = randomText(rng, kDocChars, rng.chance(0.1) ? 0 : rng.int(1, 8));
  const len = codePoints(doc);
  const a = randomOp(rng, len);
  const b = randomOp(rng, len);
  const c = randomOp(rng, codePoints(type.apply(doc, normalize(a))));
  return {doc, a, b, c, h: randomHistory(rng, doc)};
}

module.exports = {expected, makeRng, randomCase, randomOp, normalize, codePoints};
