// Text operations in the two coordinate systems Quire's JS client lives in.
//
// Everything the client and the server exchange counts Unicode code points
// (docs/protocol.md, "Transport"); ot-text-unicode, which transforms the
// client's ops, counts code points too. Editors count UTF-16 code units. The
// conversions between the two happen here and nowhere else.
//
// An op is ot-text-unicode's form: an array of components, a positive
// number retains, a non-empty string inserts, {d: n} deletes n code points.
// The wire form (docs/ot.md, "Wire form") writes a delete as a negative
// integer.
import ottu from 'ot-text-unicode';

export const otType = ottu.type;

// The number of code points in `s`.
export function cpLength(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

// The UTF-16 offset of code point `cp` in `s`, scanning from UTF-16 offset
// `from` which is at code point `fromCp` (so a caller walking forward pays
// for the distance, not the prefix). Past the end: s.length.
export function cpToUtf16(s, cp, from = 0, fromCp = 0) {
  let i = from;
  for (let k = fromCp; k < cp && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

// The code point index of UTF-16 offset `off` in `s`. An offset inside a
// surrogate pair counts as the pair's start.
export function utf16ToCp(s, off, from = 0, fromCp = 0) {
  let cp = fromCp;
  let i = from;
  while (i < off && i < s.length) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1));
    if (pair && i + 1 === off) break;
    i += pair ? 2 : 1;
    cp++;
  }
  return cp;
}

function isLow(c) {
  return c >= 0xdc00 && c <= 0xdfff;
}

// Op <-> wire form. fromWire throws on anything that is not a valid
// component, so a malformed message from the server is refused whole.
export function toWire(op) {
  return op.map((c) => {
    if (typeof c === 'number') return c;
    if (typeof c === 'string') return c;
    return typeof c.d === 'number' ? -c.d : -cpLength(c.d);
  });
}

export function fromWire(wire) {
  if (!Array.isArray(wire)) throw new TypeError('op: not an array');
  return wire.map((c) => {
    if (typeof c === 'bigint') c = Number(c);
    if (typeof c === 'number' && Number.isSafeInteger(c) && c !== 0) return c > 0 ? c : { d: -c };
    if (typeof c === 'string' && c.length > 0) return c;
    throw new TypeError('op: bad component ' + String(c));
  });
}

// How many code points an op expects its input to have, at least.
export function inputLength(op) {
  let n = 0;
  for (const c of op) {
    if (typeof c === 'number') n += c;
    else if (typeof c === 'object') n += typeof c.d === 'number' ? c.d : cpLength(c.d);
  }
  return n;
}

export function insertOp(pos, text) {
  return otType.normalize([pos, text]);
}

export function deleteOp(pos, len) {
  return otType.normalize([pos, { d: len }]);
}

// Where a caret at code point `pos` of a text of `len` code points goes
// when `op` is applied, with the server's anchor semantics (protocol.md,
// "Presence and broadcast"): a caret sticks to the character after it, so
// text inserted right at the caret goes before it, except at the end of
// the text where the caret sticks to the last character.
export function transformCursor(pos, op, len) {
  let inA = 0; // Position in the input.
  let out = 0; // Position in the output.
  for (const c of op) {
    if (inA > pos) break;
    if (typeof c === 'number') {
      if (pos < inA + c) return out + (pos - inA);
      inA += c;
      out += c;
    } else if (typeof c === 'string') {
      if (inA < pos || pos < len) out += cpLength(c);
    } else {
      const n = typeof c.d === 'number' ? c.d : cpLength(c.d);
      if (pos < inA + n) return out;
      inA += n;
    }
  }
  return out + (pos - inA);
}

// Maps a position in the text `op` produced back to the text it was
// applied to: a position inside inserted text lands where the insert was.
export function mapBack(pos, op) {
  let a = 0;
  let b = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      if (pos <= b + c) return a + (pos - b);
      a += c;
      b += c;
    } else if (typeof c === 'string') {
      const k = cpLength(c);
      if (pos <= b + k) return a;
      b += k;
    } else {
      a += typeof c.d === 'number' ? c.d : cpLength(c.d);
    }
  }
  return a + (pos - b);
}

// An op that turns `from` into `to`: their common prefix and suffix kept,
// the middle replaced. Used where only two texts are known.
export function diffOp(from, to) {
  const fromCps = Array.from(from);
  const toCps = Array.from(to);
  let pre = 0;
  while (pre < fromCps.length && pre < toCps.length && fromCps[pre] === toCps[pre]) pre++;
  let suf = 0;
  while (
    suf < fromCps.length - pre &&
    suf < toCps.length - pre &&
    fromCps[fromCps.length - 1 - suf] === toCps[toCps.length - 1 - suf]
  ) {
    suf++;
  }
  const op = [pre];
  const removed = fromCps.length - pre - suf;
  if (removed > 0) op.push({ d: removed });
  const inserted = toCps.slice(pre, toCps.length - suf).join('');
  if (inserted) op.push(inserted);
  return otType.normalize(op);
}

// An op (code points) as a list of UTF-16 changes on `text`, each
// {from, to, insert} in the coordinates of `text` (what CodeMirror's
// ChangeSpec array takes).
export function opToUtf16Changes(text, op) {
  const changes = [];
  let cp = 0;
  let off = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      off = cpToUtf16(text, cp + c, off, cp);
      cp += c;
    } else if (typeof c === 'string') {
      changes.push({ from: off, to: off, insert: c });
    } else {
      const n = typeof c.d === 'number' ? c.d : cpLength(c.d);
      const end = cpToUtf16(text, cp + n, off, cp);
      const last = changes[changes.length - 1];
      if (last && last.to === off && last.from === off) {
        last.to = end; // An insert then a delete at one place is one replacement.
      } else {
        changes.push({ from: off, to: end, insert: '' });
      }
      off = end;
      cp += n;
    }
  }
  return changes;
}

// UTF-16 changes on `text` ({from, to, insert}, sorted, not overlapping,
// in the coordinates of `text`) as one op in code points.
export function utf16ChangesToOp(text, changes) {
  const op = [];
  let off = 0;
  let cp = 0;
  for (const ch of changes) {
    const fromCp = utf16ToCp(text, ch.from, off, cp);
    if (fromCp > cp) op.push(fromCp - cp);
    const toCp = utf16ToCp(text, ch.to, ch.from, fromCp);
    if (toCp > fromCp) op.push({ d: toCp - fromCp });
    if (ch.insert) op.push(ch.insert);
    off = ch.to;
    cp = toCp;
  }
  return otType.normalize(op);
}
