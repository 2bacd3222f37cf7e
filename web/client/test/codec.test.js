// The codec against the hex examples of docs/protocol.md, and 64-bit
// integers through msgpackr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import * as codec from '../src/codec.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const bytes = (h) => Buffer.from(h.replace(/ /g, ''), 'hex');
const raw = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

test("the client's messages are the spec's bytes", () => {
  assert.equal(hex(codec.encodeOpen(3, 'notes', 0, 0)), '96 10 03 a5 6e 6f 74 65 73 01 00 00');
  assert.equal(hex(codec.encodeOp(3, 1, 0, ['hi'], 0)), '96 17 03 01 00 91 a2 68 69 00');
  assert.equal(hex(codec.encodePresenceSet(3, 2, { cursor: 4 })), '94 30 03 02 81 a6 63 75 72 73 6f 72 04');
  // A delete is a negative integer on the wire.
  assert.deepEqual(raw.unpack(codec.encodeOp(0, 1, 5, [2, { d: 1 }, 'x'], 7)), [23, 0, 1, 5, [2, -1, 'x'], 7]);
});

test("the server's examples decode", () => {
  assert.deepEqual(codec.decodeFrame(bytes('95 18 03 01 01 02')), [{ type: 'ack', channel: 3, ref: 1, seq: 1, agentNext: 2 }]);
  const batch = codec.decodeFrame(bytes('93 00 95 1a 03 05 92 02 ff 92 07 00 95 1a 03 06 91 a1 78 92 09 04'));
  assert.deepEqual(batch, [
    { type: 'remoteOp', channel: 3, seq: 5, op: [2, { d: 1 }], origin: { agent: 7n, seq: 0 } },
    { type: 'remoteOp', channel: 3, seq: 6, op: ['x'], origin: { agent: 9n, seq: 4 } },
  ]);
  const [err] = codec.decodeFrame(bytes('96 03 cc c8 af 75 6e 6b 6e 6f 77 6e 20 63 68 61 6e 6e 65 6c 09 c0 c0'));
  assert.deepEqual(err, { type: 'error', code: 200, message: 'unknown channel', channel: 9, ref: null, detail: null });
  const [presence] = codec.decodeFrame(bytes('94 31 03 02 92 93 11 05 81 a6 63 75 72 73 6f 72 04 93 12 02 c0'));
  assert.deepEqual(presence, {
    type: 'presence',
    channel: 3,
    seq: 2,
    entries: [
      { session: '17', clock: 5, state: { cursor: 4 } },
      { session: '18', clock: 2, state: null },
    ],
  });
});

test('64-bit agents survive both ways; integers never become floats', () => {
  const agent = 2n ** 63n - 25n;
  const hello = raw.unpack(codec.encodeHello({ agent, ticket: new Uint8Array([1, 2, 3]), name: 'Ann' }));
  assert.equal(hello[2].agent[0], agent);
  assert.deepEqual([...hello[2].agent[1]], [1, 2, 3]);
  const welcome = raw.pack([2, 1, { session: 5, user: 'u', name: 'n', agent, ticket: Buffer.from([9]), ping_ms: 1000 }]);
  assert.equal(codec.decodeFrame(welcome)[0].agent, agent);
  // An agent that happens to be small is still a BigInt, so comparisons hold.
  const small = raw.pack([26, 0, 1, ['x'], [12, 0]]);
  assert.equal(codec.decodeFrame(small)[0].origin.agent, 12n);
  // 2^40 as a seq: an integer (cf/d3), never a float64 (cb).
  const op = codec.encodeOp(0, 2 ** 40, 2 ** 40, ['x'], 2 ** 33);
  assert.ok(!hex(op).includes('cb'), hex(op));
  assert.deepEqual(raw.unpack(op).slice(2, 4), [2n ** 40n, 2n ** 40n]);
});

test('malformed server messages are refused whole', () => {
  for (const bad of [
    [0xc1], // Never valid msgpack.
    [0x81, 0xa1, 0x61, 0x01], // A map, not an array.
    ...[[24, 0, 1, -1, 2], [26, 0, 1, [0], [1, 0]], [26, 0, 1, ['x'], [1]], [49, 0, 1, [[1, 2]]], [0, [0, [24]]]].map((m) =>
      raw.pack(m),
    ),
  ]) {
    assert.throws(() => codec.decodeFrame(Buffer.from(bad)), undefined, hex(bad));
  }
  // Types this client does not speak (CRDT, 128+) are skipped.
  assert.deepEqual(codec.decodeFrame(raw.pack([25, 0, 1, []])), []);
  assert.deepEqual(codec.decodeFrame(raw.pack([200, 'x'])), []);
});
