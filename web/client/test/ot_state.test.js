// OtState against a model of the server: clients edit at random while
// messages are delayed at random; everyone ends with the server's text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OtState, transformX } from '../src/ot_state.js';
import { otType, cpLength } from '../src/ops.js';
import { rng, randomOp } from './helpers/random.js';

// The server's OT side as protocol.md describes it: an op made at
// base_seq is rebased across (base_seq, head] with the client's op as
// 'left', and gets the next seq.
class ModelServer {
  constructor() {
    this.text = '';
    this.log = []; // log[i] took seq i to i + 1: {op, origin}
    this.agentNext = new Map();
  }
  get seq() {
    return this.log.length;
  }
  submit(agent, baseSeq, op, agentSeq) {
    const next = this.agentNext.get(agent) ?? 0;
    assert.ok(agentSeq <= next, 'agent_seq above the agent');
    if (agentSeq < next) return { seq: this.seq, agentNext: next, dup: true };
    for (let s = baseSeq; s < this.seq; s++) op = otType.transform(op, this.log[s].op, 'left');
    if (otType.isNoop(op)) return { seq: this.seq, agentNext: next };
    this.text = otType.apply(this.text, op);
    const origin = { agent, seq: agentSeq };
    this.log.push({ op, origin });
    this.agentNext.set(agent, next + 1);
    return { seq: this.seq, agentNext: next + 1, op, origin };
  }
}

test('clients converge with the server under random delays (seeded)', (t) => {
  const seed = Number(process.env.QUIRE_SEED ?? Date.now() % 1000000);
  t.diagnostic(`seed ${seed} (QUIRE_SEED=${seed} replays it)`);
  for (let round = 0; round < 200; round++) {
    const r = rng(seed + round);
    const server = new ModelServer();
    const clients = [0, 1, 2].map((i) => ({ agent: BigInt(i + 1), st: new OtState(), inbox: [], cursor: 0, agentNext: 0 }));
    for (const c of clients) c.st.loaded = true;
    const deliverOne = (c) => {
      const m = c.inbox.shift();
      if (m.kind === 'remote') {
        if (c.st.isOwn(m.origin)) c.st.ack(m.seq);
        else c.st.remote(m.seq, m.op);
      } else {
        c.st.ack(m.seq);
        c.agentNext = m.agentNext;
        c.sent = false;
      }
      send(c);
    };
    const send = (c) => {
      if (c.sent) return;
      const s = c.st.nextToSend(c.agent, c.agentNext);
      if (!s) return;
      c.sent = true;
      const res = server.submit(c.agent, s.baseSeq, s.op, s.agentSeq);
      c.inbox.push({ kind: 'ack', seq: res.seq, agentNext: res.agentNext });
      if (res.op) {
        for (const other of clients) {
          if (other !== c) other.inbox.push({ kind: 'remote', seq: res.seq, op: res.op, origin: res.origin });
        }
      }
    };
    // The model delivers an ack or remote op per step for a random client,
    // or a client edits.
    for (let step = 0; step < 60; step++) {
      const c = r.pick(clients);
      if (c.inbox.length && r.int(2)) deliverOne(c);
      else {
        c.st.local(randomOp(r, cpLength(c.st.text)));
        send(c);
      }
    }
    for (let guard = 0; clients.some((c) => c.inbox.length); guard++) {
      assert.ok(guard < 10000);
      for (const c of clients) if (c.inbox.length) deliverOne(c);
    }
    for (const c of clients) {
      assert.equal(c.st.text, server.text, `seed ${seed + round}`);
      assert.equal(c.st.pending, 0);
      assert.equal(c.st.seq, server.seq);
    }
  }
});

test('transformX puts the local op first on a tie, like the server', () => {
  const [a, b] = transformX(['x'], ['y']);
  assert.equal(otType.apply(otType.apply('', ['y']), a), 'xy');
  assert.equal(otType.apply(otType.apply('', ['x']), b), 'xy');
});

test('a text catch-up at seq 0 rebases pending inserts to the start', () => {
  // Typed offline into a new document; the server has "hello" by now.
  const st = new OtState();
  st.local(['abc']);
  st.local([3, 'd']);
  const op = st.resetText(4, 'hello', false);
  assert.equal(st.text, 'abcdhello');
  assert.equal(otType.apply('abcd', op), 'abcdhello');
  assert.equal(st.pending, 2);
  assert.deepEqual(st.nextToSend(7n, 0), { op: ['abcd'], baseSeq: 4, agentSeq: 0 });
});

test('a text catch-up at seq 0 drops an in-flight op that landed', () => {
  const st = new OtState();
  st.local(['ab']);
  st.nextToSend(7n, 0); // In flight as [7, 0]; its ack is lost.
  st.local([2, '😀']);
  // The server holds "ab" (ours) and then someone's "X" before it.
  const op = st.resetText(2, 'Xab', true);
  assert.equal(st.text, 'Xab😀');
  assert.equal(otType.apply('ab😀', op), 'Xab😀');
  assert.equal(st.inflight, null);
  assert.equal(st.pending, 1);
});

test('the state survives JSON (the outbox on a store)', () => {
  const st = new OtState();
  st.local(['héllo 😀']);
  st.nextToSend(123456789012345678n, 5);
  st.local(['x']);
  st.epoch = 2n ** 60n; // Epochs are uints on the wire: any size survives.
  const copy = new OtState(JSON.parse(JSON.stringify(st.toJSON())));
  assert.equal(copy.epoch, 2n ** 60n);
  assert.equal(copy.text, st.text);
  assert.deepEqual(copy.inflight, st.inflight);
  assert.deepEqual(copy.buffer, st.buffer);
  assert.ok(copy.isOwn({ agent: 123456789012345678n, seq: 5 }));
});
