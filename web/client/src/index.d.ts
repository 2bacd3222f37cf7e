// Type declarations of @quire/client (docs/web.md). Positions and lengths
// count Unicode code points unless a name says UTF-16.

/** ot-text-unicode's op: a positive number retains, a string inserts, {d} deletes. */
export type OpComponent = number | string | { d: number | string };
export type Op = OpComponent[];

export interface Store {
  get(key: string): Promise<any>;
  put(key: string, value: any): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}
export class MemoryStore implements Store {
  get(key: string): Promise<any>;
  put(key: string, value: any): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}
export class IndexedDBStore implements Store {
  constructor(dbName?: string, storeName?: string);
  get(key: string): Promise<any>;
  put(key: string, value: any): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}

export type ConnectionState = 'connecting' | 'connected' | 'synced' | 'reconnecting' | 'offline' | 'closed';
export interface Status {
  state: ConnectionState;
  /** Local edits not yet acknowledged, over every open document. */
  pending: number;
  /** When the next connection attempt starts (ms since the epoch), while 'reconnecting'. */
  nextAttemptAt: number | null;
  attempt: number;
  /** Why 'offline': 'network', 'replaced' (4007), 'version', 'unauthorized'. */
  reason: string | null;
}

export interface ClientOptions {
  /** ws://host:port/ws */
  url: string;
  /** Display name sent in hello. */
  name?: string;
  token?: string;
  /** Called before each connection and before the token expires (in-band refresh). */
  getToken?: () => Promise<string>;
  store?: Store;
  /** Namespace of this client's agent and outboxes in the store: one per live client (tab). */
  storeKey?: string;
  /** A WebSocket class (default: globalThis.WebSocket; in Node, the `ws` package's). */
  WebSocket?: any;
  /** Reconnect backoff in ms: a random wait in [0, min(max, min * 2^attempt)]. */
  backoff?: { min?: number; max?: number };
  random?: () => number;
  clientName?: string;
  /** Follow the browser's online/offline events (default true). */
  watchOnline?: boolean;
}

export interface User {
  id?: string;
  name?: string;
  /** "#rrggbb" */
  color?: string;
}

export interface ClientEvents {
  status: Status;
  welcome: { session: string; agent: bigint; user: string; name: string };
  user: User;
  error: { code: number | string; message: string };
}

export class QuireClient {
  constructor(options: ClientOptions);
  readonly agent: bigint | null;
  readonly session: string | null;
  readonly status: Status;
  start(): Promise<void>;
  open(name: string): Promise<QuireDoc>;
  close(): void;
  whenPersisted(): Promise<void>;
  setToken(token: string): void;
  setUser(user: User): void;
  isOpen(): boolean;
  on<K extends keyof ClientEvents>(event: K, fn: (value: ClientEvents[K]) => void): () => void;
  off<K extends keyof ClientEvents>(event: K, fn: (value: ClientEvents[K]) => void): void;
}

export interface OwnPresence {
  cursor?: number | null;
  /** [anchor, head] pairs, at most 16. */
  sel?: [number, number][];
  typing?: boolean;
  user?: User;
  app?: Record<string, unknown> | null;
}

export interface Member {
  session: string;
  user: User | null;
  cursor: number | null;
  sel: [number, number][];
  typing: boolean;
  app: Record<string, unknown> | null;
}

export interface DocEvents {
  change: { op: Op; remote: boolean };
  synced: { seq: number };
  ack: { seq: number };
  presence: { type: 'join' | 'update' | 'leave'; member: Member };
  broadcast: { session: string; payload: unknown };
  error: { code: number | string; message: string; refused: boolean };
  persisted: Record<string, never>;
}

export class QuireDoc {
  readonly name: string;
  readonly channel: number;
  readonly text: string;
  readonly seq: number;
  /** Local edits not yet acknowledged. */
  readonly pending: number;
  /** The text came from the server or the store at least once. */
  readonly loaded: boolean;
  /** Caught up on this connection. */
  readonly synced: boolean;
  insert(pos: number, text: string): void;
  delete(pos: number, len: number): void;
  apply(op: Op): void;
  setPresence(state: OwnPresence): void;
  members(): Member[];
  broadcast(payload: unknown): void;
  whenPersisted(): Promise<void>;
  close(): void;
  on<K extends keyof DocEvents>(event: K, fn: (value: DocEvents[K]) => void): () => void;
  off<K extends keyof DocEvents>(event: K, fn: (value: DocEvents[K]) => void): void;
}

/** A browser tab's own storeKey (sessionStorage + Web Locks). */
export function claimTabIdentity(store: Store): Promise<string>;

export function backoffDelay(attempt: number, limits?: { min?: number; max?: number }, random?: () => number): number;
export function jwtExp(token: string): number | null;

export const otType: {
  apply(text: string, op: Op): string;
  compose(a: Op, b: Op): Op;
  transform(op: Op, other: Op, side: 'left' | 'right'): Op;
  normalize(op: Op): Op;
  isNoop(op: Op): boolean;
};
export function transformX(client: Op, server: Op): [Op, Op];
export function cpLength(s: string): number;
export function cpToUtf16(s: string, cp: number, from?: number, fromCp?: number): number;
export function utf16ToCp(s: string, off: number, from?: number, fromCp?: number): number;
export function toWire(op: Op): (number | string)[];
export function fromWire(wire: unknown): Op;
export function transformCursor(pos: number, op: Op, len: number): number;
export function mapBack(pos: number, op: Op): number;
export function diffOp(from: string, to: string): Op;
export interface Utf16Change {
  from: number;
  to: number;
  insert: string;
}
export function opToUtf16Changes(text: string, op: Op): Utf16Change[];
export function utf16ChangesToOp(text: string, changes: Utf16Change[]): Op;

export class OtState {
  constructor(saved?: unknown);
  text: string;
  seq: number;
  readonly pending: number;
}
