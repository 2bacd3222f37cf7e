// OtState is one document as an OT client holds it: the local text, the
// server seq it is based on, one op in flight and a buffer of the ops typed
// after it (docs/protocol.md, "Acks" and "OT ops exactly once"). It does no
// I/O: the client feeds it what the server says and sends what it hands
// out. Remote ops transform the pending ops with ShareDB's convention (the
// local op is 'left'), which is what the server's ot/ does when it rebases,
// so client and server agree on every tie.
//
// Invariant: text = apply(apply(text at `seq`, inflight.op), buffer.op).
import { cpLength, diffOp, otType } from './ops.js';

const HISTORY = 128; // Confirmed ops kept to bring late presence up to date.

export class OtState {
  // `saved` is what toJSON() gave (or nothing for a new document).
  constructor(saved) {
    this.epoch = fromSaved(saved?.epoch ?? 0);
    this.seq = saved?.seq ?? 0;
    this.text = saved?.text ?? '';
    // {op, edits, agent: BigInt|null, agentSeq: number|null}; agent and
    // agentSeq are set when it is first sent and never change after.
    this.inflight = saved?.inflight
      ? {
          op: saved.inflight.op,
          edits: saved.inflight.edits,
          agent: saved.inflight.agent == null ? null : BigInt(saved.inflight.agent),
          agentSeq: saved.inflight.agentSeq ?? null,
        }
      : null;
    this.buffer = saved?.buffer ? { op: saved.buffer.op, edits: saved.buffer.edits } : null;
    // Whether the text has ever come from the server (or was saved).
    this.loaded = Boolean(saved);
    // Confirmed ops by seq: history[i] took seq historyStart+i-1 to historyStart+i.
    this.history = [];
    this.historyStart = this.seq + 1;
  }

  toJSON() {
    return {
      v: 1,
      epoch: typeof this.epoch === 'bigint' ? this.epoch.toString() : this.epoch,
      seq: this.seq,
      text: this.text,
      inflight: this.inflight && {
        op: this.inflight.op,
        edits: this.inflight.edits,
        agent: this.inflight.agent == null ? null : this.inflight.agent.toString(),
        agentSeq: this.inflight.agentSeq,
      },
      buffer: this.buffer,
    };
  }

  // Local edits not yet acknowledged.
  get pending() {
    return (this.inflight?.edits ?? 0) + (this.buffer?.edits ?? 0);
  }

  // The ops not yet acknowledged, as one op on the text at `seq`.
  pendingOp() {
    if (this.inflight && this.buffer) return otType.compose(this.inflight.op, this.buffer.op);
    return this.inflight?.op ?? this.buffer?.op ?? [];
  }

  // A local edit (code points, on `text`). Throws when it does not fit.
  local(op) {
    op = otType.normalize(op);
    this.text = otType.apply(this.text, op);
    if (otType.isNoop(op)) return;
    this.buffer = this.buffer
      ? { op: otType.compose(this.buffer.op, op), edits: this.buffer.edits + 1 }
      : { op, edits: 1 };
    if (otType.isNoop(this.buffer.op)) this.buffer = null; // Typed and deleted again.
  }

  // Moves the buffer into flight when nothing is. Returns the op to send
  // (with the agent seq it carries), or null. `agentNext` is the agent's
  // next seq from the last `synced`/`ack`.
  nextToSend(agent, agentNext) {
    if (!this.inflight && this.buffer) {
      this.inflight = { ...this.buffer, agent: null, agentSeq: null };
      this.buffer = null;
    }
    if (!this.inflight) return null;
    if (this.inflight.agentSeq == null) {
      this.inflight.agent = agent;
      this.inflight.agentSeq = agentNext;
    }
    return { op: this.inflight.op, baseSeq: this.seq, agentSeq: this.inflight.agentSeq };
  }

  isOwn(origin) {
    const f = this.inflight;
    return Boolean(f && f.agentSeq != null && f.agent === origin.agent && f.agentSeq === origin.seq);
  }

  // The inflight op is durable as `seq`.
  ack(seq) {
    if (this.inflight && seq > this.seq) this.remember(seq, this.inflight.op);
    this.inflight = null;
    this.seq = Math.max(this.seq, seq);
  }

  // Change `seq` by someone else: `op` on the text at seq - 1. Returns the
  // op it makes to the local text.
  remote(seq, op) {
    this.remember(seq, op);
    let r = op;
    if (this.inflight) [this.inflight.op, r] = transformX(this.inflight.op, r);
    if (this.buffer) [this.buffer.op, r] = transformX(this.buffer.op, r);
    this.text = otType.apply(this.text, r);
    this.seq = seq;
    return r;
  }

  // The whole text at `seq`, which the server sends when the client opened
  // with nothing (seq 0). Returns the op it makes to the local text.
  //
  // The text at seq 0 is empty, so pending ops made at seq 0 are inserts
  // into nothing, and [text] is an op from seq 0 to `seq`. Transforming
  // them against it puts them at the start, exactly where the server's
  // rebase across each op of the history puts an insert at position 0 with
  // the 'left' side. `landed` says the in-flight op is already in `text`
  // (the agent's next seq passed it): then only the ops typed after it are
  // rebased, and as the ops between are not known, onto a diff of the two
  // texts (every character of them kept once; only its place among
  // concurrent edits is a guess).
  resetText(seq, text, landed) {
    const before = this.text;
    if (!this.inflight && !this.buffer) {
      this.text = text;
    } else if (landed && this.inflight) {
      const afterInflight = otType.apply('', this.inflight.op);
      const edits = this.buffer?.edits ?? 0;
      this.inflight = null;
      if (this.buffer) {
        const [b] = transformX(this.buffer.op, diffOp(afterInflight, text));
        this.buffer = otType.isNoop(b) ? null : { op: b, edits };
      }
      this.text = this.buffer ? otType.apply(text, this.buffer.op) : text;
    } else {
      const [p] = transformX(this.pendingOp(), text ? [text] : []);
      const edits = this.pending;
      const identity = this.inflight && { agent: this.inflight.agent, agentSeq: this.inflight.agentSeq };
      this.inflight = identity ? { op: p, edits, ...identity } : null;
      this.buffer = identity ? null : { op: p, edits };
      this.text = otType.apply(text, p);
    }
    this.seq = seq;
    this.loaded = true;
    this.history = [];
    this.historyStart = seq + 1;
    return diffOp(before, this.text);
  }

  // Drops every pending op (the server refused one, or the document is
  // another one now) and forgets the text: the next open starts over.
  discard() {
    this.inflight = null;
    this.buffer = null;
    this.seq = 0;
    this.epoch = 0;
    this.history = [];
    this.historyStart = 1;
  }

  remember(seq, op) {
    if (seq !== this.historyStart + this.history.length) {
      this.history = [];
      this.historyStart = seq;
    }
    this.history.push(op);
    if (this.history.length > HISTORY) {
      this.history.shift();
      this.historyStart++;
    }
  }

  // The confirmed ops from seq `from` to the current seq, or null when
  // they are no longer kept.
  opsSince(from) {
    if (from === this.seq) return [];
    if (from < this.historyStart - 1 || from > this.seq) return null;
    return this.history.slice(from - (this.historyStart - 1));
  }

  length() {
    return cpLength(this.text);
  }
}

// toJSON() writes an epoch past 2^53 as a decimal string.
function fromSaved(n) {
  if (typeof n !== 'string') return n;
  const big = BigInt(n);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

// ShareDB's transformX: `client` is the local op ('left'), `server` the
// remote one; returns both transformed.
export function transformX(client, server) {
  return [otType.transform(client, server, 'left'), otType.transform(server, client, 'right')];
}
