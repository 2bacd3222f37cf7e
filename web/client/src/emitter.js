// A small typed-by-convention event emitter (the same in Node and browsers).
export class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  // Returns a function that removes the handler.
  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(fn);
    return () => this.off(event, fn);
  }
  off(event, fn) {
    this.handlers.get(event)?.delete(fn);
  }
  emit(event, value) {
    for (const fn of [...(this.handlers.get(event) ?? [])]) {
      try {
        fn(value);
      } catch (e) {
        // A handler's bug must not break the protocol state machine.
        console.error(`quire: a '${event}' handler threw`, e);
      }
    }
  }
}
