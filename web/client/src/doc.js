// QuireDoc is one open document of a QuireClient: the text as this client
// holds it (local edits apply at once), its outbox, its presence. Every
// position and length here counts code points; opToUtf16Changes and
// utf16ChangesToOp (ops.js) convert at an editor's edge.
//
// Events (doc.on(name, fn)):
//   'change'    {op, remote}   the text changed by `op` (on the previous text)
//   'synced'    {seq}          caught up with the server on this connection
//   'ack'       {seq}          the in-flight op is durable as `seq`
//   'presence'  {type: 'join'|'update'|'leave', member}
//   'broadcast' {session, payload}
//   'error'     {code, message, refused}   refused: local edits were dropped
//   'persisted' {}             the outbox on the store holds every edit so far
import { Emitter } from './emitter.js';
import { OtState } from './ot_state.js';
import { Presence, netLength } from './presence.js';
import { cpLength, deleteOp, insertOp, otType } from './ops.js';
import * as codec from './codec.js';

export const E = Object.freeze({
  unknownType: 103,
  unknownChannel: 200,
  staleEpoch: 204,
  badSeq: 205,
  opInFlight: 206,
  unavailable: 209,
  forbidden: 302,
  rateLimited: 402,
});

export class QuireDoc extends Emitter {
  constructor(client, name, channel, saved) {
    super();
    this.client = client;
    this.name = name;
    this.channel = channel;
    this.state = new OtState(saved);
    this.presence = new Presence(this);
    this.synced = false; // On this connection.
    this.agentNext = 0;
    this.sending = false; // Waiting for the store before sending.
    this.inflightRef = null; // Set while the in-flight op is on this connection.
    this.nextRef = 1;
    this.pendingText = null;
    this.retryTimer = null;
    this.closed = false;
    // Persistence: `version` counts state changes, `written` what the
    // store holds.
    this.version = 0;
    this.written = 0;
    this.writing = false;
    this.waiters = [];
  }

  get text() {
    return this.state.text;
  }
  get seq() {
    return this.state.seq;
  }
  get pending() {
    return this.state.pending;
  }
  // Whether the text came from the server (or from the store) at least once.
  get loaded() {
    return this.state.loaded;
  }

  // ---- Local edits (code points) ----

  insert(pos, text) {
    this.apply(insertOp(pos, text));
  }
  delete(pos, len) {
    this.apply(deleteOp(pos, len));
  }
  // Applies `op` (ot-text-unicode form, code points) to the local text at
  // once and queues it for the server. Throws if it does not fit the text.
  apply(op) {
    if (this.closed) throw new Error(`quire: document '${this.name}' is closed`);
    op = otType.normalize(op);
    const fresh = !this.state.inflight && !this.state.buffer;
    this.state.local(op);
    this.emit('change', { op, remote: false });
    this.sendAndPersist(fresh);
    this.client.updateStatus();
  }

  // ---- Presence ----

  // Own state: {cursor, sel, typing, user: {name, color}, app}; positions
  // in code points of the local text. Keys given replace, others stay.
  setPresence(partial) {
    this.presence.set(partial);
  }
  // Everyone else here, positions in the local text.
  members() {
    return this.presence.list();
  }
  broadcast(payload) {
    if (this.canSend()) this.client.send(codec.encodeBroadcast(this.channel, payload));
  }

  // ---- Persistence ----

  storeKey() {
    return `${this.client.storeKey}/doc/${this.name}`;
  }

  // Writes the state (coalesced: one write at a time, the newest state).
  // Resolves when a write holding every change made before the call is on
  // the store.
  persist() {
    const want = ++this.version;
    const done = new Promise((resolve) => this.waiters.push({ want, resolve }));
    if (!this.writing) this.flushWrites();
    return done;
  }

  async flushWrites() {
    this.writing = true;
    while (this.written < this.version) {
      const version = this.version;
      try {
        await this.client.store.put(this.storeKey(), this.state.toJSON());
      } catch (e) {
        this.emit('error', { code: 'store', message: String(e?.message ?? e), refused: false });
      }
      this.written = version;
      const ready = this.waiters.filter((w) => w.want <= version);
      this.waiters = this.waiters.filter((w) => w.want > version);
      for (const w of ready) w.resolve();
      if (this.written === this.version) this.emit('persisted', {});
    }
    this.writing = false;
  }

  whenPersisted() {
    return this.written >= this.version ? Promise.resolve() : this.persist();
  }

  // ---- Sending ----

  canSend() {
    return this.synced && this.client.isOpen() && !this.closed;
  }

  sendPresence(seq, state) {
    if (this.presence.enabled) {
      this.client.send(codec.encodePresenceSet(this.channel, seq, state));
    }
  }

  // After a change of the outbox: one write to the store, which a send
  // (when one can start) waits for, unless the op is `fresh` (see trySend).
  sendAndPersist(fresh = false) {
    if (!this.trySend(fresh)) this.persist();
  }

  // Sends the in-flight op (or moves the buffer into flight and sends it)
  // when the channel is synced and nothing is on the wire. The op's
  // identity (agent, agent seq) is on the store before the op is on the
  // wire, so a reload always knows which op the server may already have.
  //
  // `fresh`: the op is one edit made with nothing pending before it. Its
  // identity goes to the store in the same write as the edit itself, so it
  // is sent at once: if that write never lands (the browser dies first),
  // the edit is gone from the store too, and the catch-up brings it back as
  // an op of someone else, applied once. Any other op holds edits that may
  // be on the store without the identity, so it waits for the write.
  // Returns whether it started a write of the state.
  trySend(fresh = false) {
    if (!this.canSend() || this.sending || this.inflightRef != null) return false;
    const next = this.state.nextToSend(this.client.agent, this.agentNext);
    if (!next) return false;
    const written = this.persist();
    if (fresh) {
      this.sendInflight();
      return true;
    }
    this.sending = true;
    const gen = this.client.generation;
    written.then(() => {
      this.sending = false;
      if (gen === this.client.generation) this.sendInflight();
    });
    return true;
  }

  sendInflight() {
    const f = this.state.inflight;
    if (!this.canSend() || !f || this.inflightRef != null) return;
    this.inflightRef = this.nextRef++;
    this.client.send(codec.encodeOp(this.channel, this.inflightRef, this.state.seq, f.op, f.agentSeq));
  }

  sendOpen() {
    this.synced = false;
    this.pendingText = null;
    this.inflightRef = null;
    this.client.send(codec.encodeOpen(this.channel, this.name, this.state.epoch, this.state.seq));
  }

  // ---- What the server says ----

  handle(m) {
    switch (m.type) {
      case 'opened':
        this.state.epoch = m.epoch;
        break;
      case 'text':
        this.pendingText = m;
        break;
      case 'remoteOp':
        this.onRemoteOp(m);
        break;
      case 'synced':
        this.onSynced(m);
        break;
      case 'ack':
        if (m.ref === this.inflightRef) this.onAck(m.seq, m.agentNext);
        break;
      case 'presence':
        if (this.synced) this.presence.onMessage(m.seq, m.entries);
        break;
      case 'broadcasted':
        this.emit('broadcast', { session: m.session, payload: m.payload });
        break;
      case 'error':
        this.onError(m);
        break;
    }
  }

  onRemoteOp(m) {
    if (m.seq <= this.state.seq) return; // Already have it (never expected).
    if (this.state.isOwn(m.origin)) {
      // Our in-flight op, accepted before the connection dropped: this is
      // its ack (protocol.md, "OT ops exactly once").
      this.confirmOwn(m.seq);
      return;
    }
    const lenBefore = this.confirmedLength();
    const op = this.state.remote(m.seq, m.op);
    this.presence.onConfirmedOp(m.op, lenBefore);
    this.persist();
    if (!otType.isNoop(op)) this.emit('change', { op, remote: true });
  }

  onSynced(m) {
    if (this.pendingText) {
      const t = this.pendingText;
      this.pendingText = null;
      const f = this.state.inflight;
      const landed = Boolean(f && f.agentSeq != null && f.agent === this.client.agent && m.agentNext > f.agentSeq);
      const op = this.state.resetText(t.seq, t.text, landed);
      this.persist();
      if (!otType.isNoop(op)) this.emit('change', { op, remote: true });
    }
    this.agentNext = m.agentNext;
    this.synced = true;
    this.state.loaded = true;
    this.presence.onSynced();
    this.emit('synced', { seq: this.state.seq });
    this.trySend();
    this.client.updateStatus();
  }

  onAck(seq, agentNext) {
    this.inflightRef = null;
    this.agentNext = agentNext;
    this.confirmOwn(seq);
  }

  confirmOwn(seq) {
    const op = this.state.inflight?.op ?? [];
    const lenBefore = this.confirmedLength(); // The in-flight op still counts as pending.
    const before = this.state.seq;
    this.state.ack(seq);
    if (this.state.seq > before) this.presence.onConfirmedOp(op, lenBefore);
    this.emit('ack', { seq: this.state.seq });
    this.presence.positionsMoved();
    this.sendAndPersist();
    this.client.updateStatus();
  }

  onError(m) {
    const refused = m.ref != null && m.ref === this.inflightRef;
    if (m.code === E.unknownType) {
      // A server without presence (or tokens): stop sending what it does not know.
      this.presence.enabled = false;
      return;
    }
    if (refused && (m.code === E.rateLimited || m.code === E.opInFlight)) {
      this.inflightRef = null;
      this.retryTimer = setTimeout(() => this.trySend(), 1000);
      this.emit('error', { ...m, refused: false });
      return;
    }
    if (m.code === E.forbidden && !refused) {
      // The token gives no right to this document (any more): the server
      // closed the channel. A new token (a reconnect) may open it again.
      this.synced = false;
      this.emit('error', { ...m, refused: false });
      this.client.updateStatus();
      return;
    }
    if (m.code === E.unavailable || m.code === E.unknownChannel) {
      this.synced = false;
      this.retryTimer = setTimeout(() => this.client.isOpen() && !this.closed && this.sendOpen(), 2000);
      this.emit('error', { ...m, refused: false });
      return;
    }
    if (refused || m.code === E.staleEpoch || m.code === E.badSeq) {
      // The server will never take these edits (or the local copy is of
      // another document): start over from the server's text.
      this.emit('error', { ...m, refused: this.state.pending > 0 });
      this.state.discard();
      this.persist();
      this.client.send(codec.encodeClose(this.channel));
      this.sendOpen();
      this.client.updateStatus();
      return;
    }
    this.emit('error', { ...m, refused: false });
  }

  onDisconnected() {
    this.synced = false;
    this.inflightRef = null;
    this.pendingText = null;
    clearTimeout(this.retryTimer);
    this.presence.onDisconnected();
  }

  // Code points of the text at the confirmed seq (without pending ops).
  confirmedLength() {
    return cpLength(this.state.text) - netLength(this.state.pendingOp());
  }

  close() {
    if (this.closed) return;
    if (this.client.isOpen()) this.client.send(codec.encodeClose(this.channel));
    this.onDisconnected();
    this.presence.stop();
    this.closed = true;
    this.client.forget(this);
  }
}
