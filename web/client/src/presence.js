// Presence of one document (docs/protocol.md, "Presence and broadcast"):
// this client's own state, published throttled, and everyone else's,
// kept at the document's confirmed seq and shown at the local text.
//
// Positions. The server speaks positions at a seq without the sender's
// unacknowledged ops. Others' positions are kept at our confirmed seq
// (moved by each confirmed op as it arrives) and mapped through our pending
// ops when read; our own are mapped back through them when sent.
import { mapBack, transformCursor } from './ops.js';

const MIN_INTERVAL_MS = 60; // Under the server's budget of 30 updates a second.
const KEEPALIVE_MS = 10000; // The server drops a member silent for 30 s.
const POSITION_KEYS = ['cursor', 'sel'];

export class Presence {
  // `doc` is the QuireDoc (its `state` is the OtState, `send(state)` puts
  // a presence_set on the wire, `emit` its events).
  constructor(doc) {
    this.doc = doc;
    this.own = {}; // Local coordinates.
    this.dirty = new Set();
    this.members = new Map(); // session -> member (positions at the confirmed seq)
    this.later = []; // Updates at a seq not reached yet.
    this.lastSent = 0;
    this.timer = null;
    this.keepalive = null;
    this.expectSnapshot = false;
    this.enabled = true;
  }

  // ---- Own state ----

  set(partial) {
    for (const [k, v] of Object.entries(partial)) {
      this.own[k] = v;
      this.dirty.add(k);
    }
    this.schedule();
  }

  // Our confirmed seq moved under our own positions (an ack): send them again.
  positionsMoved() {
    if (this.own.cursor != null || this.own.sel) {
      for (const k of POSITION_KEYS) if (k in this.own) this.dirty.add(k);
      this.schedule();
    }
  }

  schedule() {
    if (this.timer || !this.doc.canSend()) return;
    const wait = Math.max(0, this.lastSent + MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  flush() {
    if (!this.enabled || !this.doc.canSend() || this.dirty.size === 0) return;
    const state = {};
    const pending = this.doc.state.pendingOp();
    for (const k of this.dirty) {
      const v = this.own[k];
      if (k === 'cursor') state.cursor = v == null ? null : mapBack(v, pending);
      else if (k === 'sel') state.sel = (v ?? []).map(([a, h]) => [mapBack(a, pending), mapBack(h, pending)]);
      else state[k] = v ?? null;
    }
    this.dirty.clear();
    this.lastSent = Date.now();
    this.doc.sendPresence(this.doc.state.seq, state);
    this.armKeepalive();
  }

  armKeepalive() {
    clearTimeout(this.keepalive);
    this.keepalive = setTimeout(() => {
      this.keepalive = null;
      if (!this.doc.canSend()) return;
      this.doc.sendPresence(this.doc.state.seq, {});
      this.armKeepalive();
    }, KEEPALIVE_MS);
  }

  // After `synced` on a (re)connection: everything is new to the server.
  onSynced() {
    this.enabled = true;
    this.expectSnapshot = true;
    for (const k of Object.keys(this.own)) this.dirty.add(k);
    if (this.dirty.size === 0) this.dirty.add('typing'); // Announce ourselves.
    if (!('typing' in this.own)) this.own.typing = false;
    this.schedule();
  }

  onDisconnected() {
    clearTimeout(this.timer);
    clearTimeout(this.keepalive);
    this.timer = this.keepalive = null;
    this.later = [];
    const gone = [...this.members.values()];
    this.members.clear(); // Before the events: a handler reading members() sees them gone.
    for (const m of gone) this.doc.emit('presence', { type: 'leave', member: m });
  }

  // ---- Others ----

  // A `presence` message at `seq`.
  onMessage(seq, entries) {
    if (seq > this.doc.state.seq) {
      this.later.push({ seq, entries });
      return;
    }
    const snapshot = this.expectSnapshot;
    this.expectSnapshot = false;
    const seen = new Set();
    for (const e of entries) {
      seen.add(e.session);
      this.apply(seq, e);
    }
    if (snapshot) {
      for (const [session, m] of this.members) {
        if (!seen.has(session)) {
          this.members.delete(session);
          this.doc.emit('presence', { type: 'leave', member: m });
        }
      }
    }
  }

  apply(seq, { session, clock, state }) {
    const self = session === this.doc.client.session;
    const old = this.members.get(session);
    if (state == null) {
      if (old) {
        this.members.delete(session);
        this.doc.emit('presence', { type: 'leave', member: old });
      }
      return;
    }
    if (self) {
      if (state.user) this.doc.client.setSelfUser(state.user);
      return;
    }
    if (old && clock <= old.clock) return; // Stale.
    const m = old ?? { session, clock, user: null, cursor: null, sel: [], typing: false, app: null };
    m.clock = clock;
    for (const [k, v] of Object.entries(state)) {
      if (k === 'cursor') m.cursor = v == null ? null : this.toCurrent(Number(v), seq);
      else if (k === 'sel') {
        m.sel = Array.isArray(v) ? v.map(([a, h]) => [this.toCurrent(Number(a), seq), this.toCurrent(Number(h), seq)]) : [];
      } else if (k === 'typing') m.typing = Boolean(v);
      else if (k === 'user') m.user = v;
      else if (k === 'app') m.app = v;
    }
    if (!old) this.members.set(session, m);
    this.doc.emit('presence', { type: old ? 'update' : 'join', member: m });
  }

  // A position at `seq` (<= our confirmed seq) moved to our confirmed seq.
  toCurrent(pos, seq) {
    const ops = this.doc.state.opsSince(seq);
    if (!ops || ops.length === 0) return pos;
    // Lengths before each op, from the confirmed length backwards.
    let len = this.doc.confirmedLength();
    const lens = new Array(ops.length);
    for (let i = ops.length - 1; i >= 0; i--) {
      len -= netLength(ops[i]);
      lens[i] = len;
    }
    for (let i = 0; i < ops.length; i++) pos = transformCursor(pos, ops[i], lens[i]);
    return pos;
  }

  // A confirmed op (someone's, or our acked one) took the seq one further.
  onConfirmedOp(op, lenBefore) {
    for (const m of this.members.values()) {
      if (m.cursor != null) m.cursor = transformCursor(m.cursor, op, lenBefore);
      m.sel = m.sel.map(([a, h]) => [transformCursor(a, op, lenBefore), transformCursor(h, op, lenBefore)]);
    }
    const ready = this.later.filter((l) => l.seq <= this.doc.state.seq);
    if (ready.length) {
      this.later = this.later.filter((l) => l.seq > this.doc.state.seq);
      for (const l of ready) this.onMessage(l.seq, l.entries);
    }
  }

  // Others as the application shows them: positions in the local text.
  list() {
    const pending = this.doc.state.pendingOp();
    const len = this.doc.confirmedLength();
    const local = (p) => (pending.length ? transformCursor(p, pending, len) : p);
    return [...this.members.values()].map((m) => ({
      session: m.session,
      user: m.user,
      typing: m.typing,
      app: m.app,
      cursor: m.cursor == null ? null : local(m.cursor),
      sel: m.sel.map(([a, h]) => [local(a), local(h)]),
    }));
  }

  stop() {
    clearTimeout(this.timer);
    clearTimeout(this.keepalive);
  }
}

// How many code points `op` adds to the length of the text.
export function netLength(op) {
  let n = 0;
  for (const c of op) {
    if (typeof c === 'string') n += [...c].length;
    else if (typeof c === 'object') n -= typeof c.d === 'number' ? c.d : [...c.d].length;
  }
  return n;
}
