// @quire/client: Quire's JS client (docs/protocol.md, OT mode).
export { QuireClient, jwtExp } from './client.js';
export { QuireDoc } from './doc.js';
export { OtState, transformX } from './ot_state.js';
export { MemoryStore, IndexedDBStore } from './store.js';
export { backoffDelay } from './backoff.js';
export {
  otType,
  cpLength,
  cpToUtf16,
  utf16ToCp,
  toWire,
  fromWire,
  transformCursor,
  mapBack,
  diffOp,
  opToUtf16Changes,
  utf16ChangesToOp,
} from './ops.js';
export { claimTabIdentity } from './identity.js';
