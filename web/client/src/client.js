// QuireClient is one WebSocket connection to a quire-server carrying any
// number of documents in OT mode (docs/protocol.md), in a browser or in
// Node. Documents stay editable while offline; their outboxes live in a
// store (IndexedDB in browsers) and are sent, exactly once, when the
// connection comes back.
//
// Identity. The server gives each session an agent and a ticket; the client
// keeps them in the store under `storeKey` with its documents, and resumes
// the agent on every reconnect and after a reload, which is what lets it
// recognize its own op among the catch-up. The server keeps one live
// session per agent and closes the older one with 4007, so two clients must
// never share a `storeKey`: a browser tab takes its own (identity.js).
//
// Status ('status' events, and `client.status`):
//   {state, pending, nextAttemptAt, attempt, reason}
//   state: 'connecting' | 'connected' | 'synced' | 'reconnecting' | 'offline' | 'closed'
//   'synced': connected, every open document caught up, nothing pending.
//   'reconnecting': disconnected, the next attempt at nextAttemptAt (ms since the epoch).
//   'offline': disconnected with no attempt planned (the browser is offline,
//   or `reason` says why the server will not have us: 'replaced', 'version',
//   'unauthorized').
import { Emitter } from './emitter.js';
import { MemoryStore } from './store.js';
import { QuireDoc } from './doc.js';
import { backoffDelay } from './backoff.js';
import * as codec from './codec.js';

const WELCOME_TIMEOUT_MS = 10000;
const REFRESH_BEFORE_S = 60; // Refresh a token this long before it expires.

export class QuireClient extends Emitter {
  // options: url (ws://host:port/ws), name, token, getToken (async () =>
  // token), store, storeKey, WebSocket, backoff {min, max} (ms), random,
  // clientName, watchOnline (browser online/offline events; default true).
  constructor(options) {
    super();
    if (!options?.url) throw new TypeError('QuireClient: options.url is required');
    this.options = options;
    this.url = options.url;
    this.store = options.store ?? new MemoryStore();
    this.storeKey = options.storeKey ?? 'default';
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this.WebSocket) throw new TypeError('QuireClient: no WebSocket (pass options.WebSocket)');
    this.random = options.random ?? Math.random;
    this.token = options.token ?? null;
    this.docs = new Map(); // name -> QuireDoc
    this.channels = new Map(); // channel -> QuireDoc
    this.agent = null; // BigInt
    this.ticket = null;
    this.session = null;
    this.user = null; // {id, name, color} as the server has it.
    this.ws = null;
    this.welcomed = false;
    this.generation = 0; // Bumped per connection: stale callbacks check it.
    this.attempt = 0;
    this.state = 'closed';
    this.reason = null;
    this.nextAttemptAt = null;
    this.timers = {};
    this.nonce = 0;
    this.missedPongs = 0;
    this.started = false;
    this.stopped = false;
    this.lastStatus = '';
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.goOffline();
  }

  // Loads the saved agent and connects. Documents are opened with open().
  async start() {
    if (this.started) return;
    this.started = true;
    const saved = await this.store.get(`${this.storeKey}/agent`);
    if (saved?.agent && saved.ticket) {
      this.agent = BigInt(saved.agent);
      this.ticket = Uint8Array.from(saved.ticket);
    }
    if (this.options.watchOnline !== false && typeof globalThis.addEventListener === 'function') {
      globalThis.addEventListener('online', this.onOnline);
      globalThis.addEventListener('offline', this.onOffline);
    }
    this.connect();
  }

  // Opens `name` (or returns it when open): its saved state first, so what
  // was typed before a reload is there at once, then the server's.
  async open(name) {
    const existing = this.docs.get(name);
    if (existing) return existing;
    const saved = await this.store.get(`${this.storeKey}/doc/${name}`);
    if (this.docs.has(name)) return this.docs.get(name);
    const doc = new QuireDoc(this, name, this.freeChannel(), saved);
    if (this.userOverride) doc.setPresence({ user: this.userOverride });
    this.docs.set(name, doc);
    this.channels.set(doc.channel, doc);
    if (this.isOpen()) doc.sendOpen();
    this.updateStatus();
    return doc;
  }

  // Closes the connection for good (1000). Saved state stays in the store.
  close() {
    this.stopped = true;
    for (const t of Object.values(this.timers)) clearTimeout(t);
    if (typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this.onOnline);
      globalThis.removeEventListener('offline', this.onOffline);
    }
    for (const doc of this.docs.values()) {
      doc.onDisconnected();
      doc.presence.stop();
    }
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    this.generation++;
    if (ws) ws.close(1000);
    this.setState('closed', null);
  }

  // Every open document's writes are on the store.
  async whenPersisted() {
    await Promise.all([...this.docs.values()].map((d) => d.whenPersisted()));
  }

  // Replaces the session's token in-band (refresh, message 6).
  setToken(token) {
    this.token = token;
    if (this.isOpen()) {
      this.refreshOutstanding = true;
      this.send(codec.encodeRefresh(token));
    }
    this.scheduleRefresh(jwtExp(token));
  }

  // Display name and color for every document's presence.
  setUser(user) {
    for (const doc of this.docs.values()) doc.setPresence({ user });
    this.userOverride = user;
  }

  get status() {
    return {
      state: this.state,
      pending: [...this.docs.values()].reduce((n, d) => n + d.pending, 0),
      nextAttemptAt: this.nextAttemptAt,
      attempt: this.attempt,
      reason: this.reason,
    };
  }

  isOpen() {
    return this.welcomed && this.ws !== null;
  }

  // ---- Internals used by QuireDoc ----

  send(bytes) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(bytes);
  }

  forget(doc) {
    this.docs.delete(doc.name);
    this.channels.delete(doc.channel);
    this.updateStatus();
  }

  setSelfUser(user) {
    this.user = { ...this.user, ...user };
    this.emit('user', this.user);
  }

  freeChannel() {
    for (let c = 0; c <= 65535; c++) if (!this.channels.has(c)) return c;
    throw new Error('quire: no free channel');
  }

  updateStatus() {
    if (this.isOpen()) {
      const synced = [...this.docs.values()].every((d) => d.synced && d.pending === 0);
      this.setState(synced ? 'synced' : 'connected', null);
    } else {
      this.emitStatus();
    }
  }

  setState(state, reason) {
    this.state = state;
    this.reason = reason;
    if (state !== 'reconnecting') this.nextAttemptAt = null;
    this.emitStatus();
  }

  emitStatus() {
    const s = this.status;
    const key = JSON.stringify(s);
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.emit('status', s);
  }

  // ---- Connection ----

  async connect() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timers.retry);
    if (globalThis.navigator?.onLine === false) return this.setState('offline', 'network');
    this.setState('connecting', null);
    const gen = ++this.generation;
    let token = this.token;
    if (this.options.getToken) {
      try {
        token = this.token = await this.options.getToken();
      } catch (e) {
        if (gen === this.generation) this.scheduleReconnect();
        return;
      }
      if (gen !== this.generation || this.stopped) return;
    }
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.send(
        codec.encodeHello({
          token,
          name: this.options.name,
          client: this.options.clientName,
          agent: this.agent,
          ticket: this.ticket,
        }),
      );
    };
    ws.onmessage = (ev) => gen === this.generation && this.onFrame(ev.data);
    ws.onclose = (ev) => gen === this.generation && this.onClosed(ev.code);
    ws.onerror = () => {}; // A close follows.
    this.timers.welcome = setTimeout(() => gen === this.generation && !this.welcomed && this.drop(), WELCOME_TIMEOUT_MS);
  }

  onFrame(data) {
    let msgs;
    try {
      msgs = codec.decodeFrame(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    } catch (e) {
      this.emit('error', { code: 'malformed', message: 'from the server: ' + e.message });
      return;
    }
    for (const m of msgs) {
      if (!this.ws) return; // A message before this one dropped the connection.
      this.onMessage(m);
    }
  }

  onMessage(m) {
    switch (m.type) {
      case 'welcome':
        return this.onWelcome(m);
      case 'ping':
        return this.send(codec.encodePong(m.nonce));
      case 'pong':
        this.missedPongs = 0;
        return;
      case 'refreshed':
        this.refreshOutstanding = false;
        return this.scheduleRefresh(m.exp);
      case 'error':
        if (m.channel != null && this.channels.has(m.channel)) return this.channels.get(m.channel).handle(m);
        if (m.code === 103 && this.refreshOutstanding) {
          this.refreshOutstanding = false; // A server without tokens.
        } else if (m.code === 103) {
          // A server without presence: stop sending what it does not know.
          for (const d of this.docs.values()) d.presence.enabled = false;
        }
        this.emit('error', m);
        return;
      default:
        if (m.channel != null) this.channels.get(m.channel)?.handle(m);
    }
  }

  onWelcome(w) {
    clearTimeout(this.timers.welcome);
    if (this.agent !== null && w.agent !== this.agent) {
      // The server did not take our ticket. Ops in flight under the old
      // agent are still recognized by their origin; new ones use this one.
      this.emit('error', { code: 'agent', message: 'the server gave a new agent' });
    }
    this.agent = w.agent;
    this.ticket = w.ticket;
    this.session = w.session;
    this.user = { ...this.user, id: w.user, name: w.name };
    this.welcomed = true;
    this.refreshOutstanding = false;
    this.attempt = 0;
    this.missedPongs = 0;
    this.store
      .put(`${this.storeKey}/agent`, { agent: w.agent.toString(), ticket: w.ticket })
      .catch((e) => this.emit('error', { code: 'store', message: String(e?.message ?? e) }));
    this.startPings(w.pingMs);
    if (this.token) this.scheduleRefresh(jwtExp(this.token));
    this.setState('connected', null);
    for (const doc of this.docs.values()) doc.sendOpen();
    if (this.userOverride) this.setUser(this.userOverride);
    this.emit('welcome', { session: w.session, agent: w.agent, user: w.user, name: w.name });
    this.updateStatus();
  }

  startPings(ms) {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      // Browsers do not show WebSocket pings: two unanswered pings of our
      // own mean a dead connection.
      if (this.missedPongs >= 2) return this.drop();
      this.missedPongs++;
      this.send(codec.encodePing(++this.nonce));
    }, Math.max(100, ms));
  }

  onClosed(code) {
    this.ws = null;
    this.welcomed = false;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.welcome);
    for (const doc of this.docs.values()) doc.onDisconnected();
    if (this.stopped) return this.setState('closed', null);
    const reason = { 4007: 'replaced', 4000: 'version', 4003: 'unauthorized' }[code];
    if (reason && !(reason === 'unauthorized' && this.options.getToken)) {
      return this.setState('offline', reason); // Trying again would not help.
    }
    this.scheduleReconnect();
  }

  // Drops the connection at once, without waiting for a close handshake a
  // dead peer will not answer.
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.generation++;
    if (typeof ws.terminate === 'function') ws.terminate();
    else ws.close();
    this.onClosed(1006);
  }

  scheduleReconnect() {
    if (this.stopped) return;
    if (globalThis.navigator?.onLine === false) return this.setState('offline', 'network');
    const delay = backoffDelay(this.attempt++, this.options.backoff, this.random);
    this.nextAttemptAt = Date.now() + delay;
    this.state = 'reconnecting';
    this.reason = null;
    this.emitStatus();
    clearTimeout(this.timers.retry);
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  goOffline() {
    clearTimeout(this.timers.retry);
    if (this.ws) this.drop();
    else this.setState('offline', 'network');
  }

  scheduleRefresh(exp) {
    clearTimeout(this.timers.refresh);
    if (!exp || !this.options.getToken) return;
    const wait = Math.max(1000, (exp - REFRESH_BEFORE_S) * 1000 - Date.now());
    this.timers.refresh = setTimeout(async () => {
      try {
        const token = await this.options.getToken();
        if (token && this.isOpen()) this.setToken(token);
      } catch (e) {
        this.emit('error', { code: 'token', message: String(e?.message ?? e) });
      }
    }, wait);
  }
}

// The `exp` claim of a JWT (Unix seconds), or null. Not verified: only to
// know when to refresh.
export function jwtExp(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(typeof atob === 'function' ? atob(part) : Buffer.from(part, 'base64').toString());
    return typeof json.exp === 'number' ? json.exp : null;
  } catch {
    return null;
  }
}
