// A CodeMirror 6 binding for a QuireDoc:
//   - local changes become ops (UTF-16 offsets to code points) at once;
//   - remote ops are applied as transactions annotated `quireRemote` and
//     kept out of the undo history (Transaction.addToHistory false), so
//     CodeMirror's history() undoes only this user's edits, mapped through
//     everyone else's;
//   - the local selection is published as presence (throttled), and typing
//     state with it;
//   - everyone else's caret and selection are drawn in their color, the
//     caret with a name label.
//
// Usage:
//   new EditorView({ state: EditorState.create({ doc: doc.text,
//     extensions: [history(), keymap.of(historyKeymap), quireBinding(doc)] }) })
// The editor's text must start as doc.text.
import { Annotation, StateEffect, StateField, Transaction } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType } from '@codemirror/view';
import { opToUtf16Changes, utf16ChangesToOp, utf16ToCp, cpToUtf16 } from './ops.js';

// Marks the transactions that carry someone else's edits.
export const quireRemote = Annotation.define();

const setMembers = StateEffect.define();

class CaretWidget extends WidgetType {
  constructor(session, name, color) {
    super();
    this.session = session;
    this.name = name;
    this.color = color;
  }
  eq(other) {
    return other.session === this.session && other.name === this.name && other.color === this.color;
  }
  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-quire-caret';
    caret.style.borderLeftColor = this.color;
    caret.dataset.session = this.session;
    caret.dataset.name = this.name;
    const label = document.createElement('span');
    label.className = 'cm-quire-caret-label';
    label.style.backgroundColor = this.color;
    label.textContent = this.name;
    caret.appendChild(label);
    return caret;
  }
  ignoreEvent() {
    return true;
  }
}

// The decorations: rebuilt from the members on setMembers, mapped through
// every change in between.
const membersField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setMembers)) deco = buildDecorations(e.value, tr.state.doc.length);
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

function buildDecorations(members, length) {
  const ranges = [];
  const clamp = (x) => Math.max(0, Math.min(length, x));
  for (const m of members) {
    const color = m.user?.color ?? '#888888';
    const name = m.user?.name ?? `#${m.session}`;
    for (const [a, h] of m.sel) {
      const from = clamp(Math.min(a, h));
      const to = clamp(Math.max(a, h));
      if (from < to) {
        ranges.push(
          Decoration.mark({
            class: 'cm-quire-selection',
            attributes: { style: `background-color: ${color}40`, 'data-session': m.session },
          }).range(from, to),
        );
      }
    }
    if (m.cursor != null) {
      ranges.push(Decoration.widget({ widget: new CaretWidget(m.session, name, color), side: 1 }).range(clamp(m.cursor)));
    }
  }
  return Decoration.set(ranges, true);
}

const theme = EditorView.baseTheme({
  '.cm-quire-caret': {
    position: 'relative',
    borderLeft: '2px solid',
    marginLeft: '-1px',
    marginRight: '-1px',
    pointerEvents: 'none',
  },
  '.cm-quire-caret-label': {
    position: 'absolute',
    top: '-1.35em',
    left: '-2px',
    fontSize: '11px',
    lineHeight: '1.3',
    padding: '0 4px',
    borderRadius: '3px 3px 3px 0',
    color: '#fff',
    whiteSpace: 'nowrap',
    fontFamily: 'system-ui, sans-serif',
    userSelect: 'none',
    zIndex: '10',
  },
});

// options: throttleMs (selection publishing, default 50), typingIdleMs
// (typing turns false this long after the last local edit, default 2000).
export function quireBinding(doc, options = {}) {
  const throttleMs = options.throttleMs ?? 50;
  const typingIdleMs = options.typingIdleMs ?? 2000;

  const plugin = ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.view = view;
        this.publishTimer = null;
        this.lastPublish = 0;
        this.typingTimer = null;
        this.typing = false;
        this.refreshQueued = false;
        this.off = [
          doc.on('change', ({ op, remote }) => remote && this.applyRemote(op)),
          doc.on('presence', () => this.queueRefresh()),
          doc.on('ack', () => this.queueRefresh()),
        ];
        this.queueRefresh();
        this.publishSelection();
      }

      applyRemote(op) {
        const text = this.view.state.doc.toString();
        this.view.dispatch({
          changes: opToUtf16Changes(text, op),
          annotations: [quireRemote.of(true), Transaction.addToHistory.of(false)],
        });
        this.queueRefresh();
      }

      // Members' positions are in the local text; rebuilt after the
      // current event so a burst of updates draws once.
      queueRefresh() {
        if (this.refreshQueued) return;
        this.refreshQueued = true;
        queueMicrotask(() => {
          this.refreshQueued = false;
          if (this.destroyed) return;
          const text = this.view.state.doc.toString();
          const members = doc.members().map((m) => ({
            ...m,
            cursor: m.cursor == null ? null : cpToUtf16(text, m.cursor),
            sel: m.sel.map(([a, h]) => [cpToUtf16(text, a), cpToUtf16(text, h)]),
          }));
          this.view.dispatch({ effects: setMembers.of(members) });
        });
      }

      update(update) {
        let local = false;
        for (const tr of update.transactions) {
          if (!tr.docChanged || tr.annotation(quireRemote)) continue;
          const changes = [];
          tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
            changes.push({ from: fromA, to: toA, insert: inserted.toString() });
          });
          doc.apply(utf16ChangesToOp(tr.startState.doc.toString(), changes));
          local = true;
        }
        if (local) this.markTyping();
        if (update.selectionSet || local) this.schedulePublish();
      }

      markTyping() {
        if (!this.typing) {
          this.typing = true;
          doc.setPresence({ typing: true });
        }
        clearTimeout(this.typingTimer);
        this.typingTimer = setTimeout(() => {
          this.typing = false;
          doc.setPresence({ typing: false });
        }, typingIdleMs);
      }

      schedulePublish() {
        if (this.publishTimer) return;
        const wait = Math.max(0, this.lastPublish + throttleMs - Date.now());
        this.publishTimer = setTimeout(() => {
          this.publishTimer = null;
          this.publishSelection();
        }, wait);
      }

      publishSelection() {
        this.lastPublish = Date.now();
        const state = this.view.state;
        const text = state.doc.toString();
        const cp = (off) => utf16ToCp(text, off);
        const sel = state.selection.ranges.filter((r) => !r.empty).map((r) => [cp(r.anchor), cp(r.head)]);
        doc.setPresence({ cursor: cp(state.selection.main.head), sel });
      }

      destroy() {
        this.destroyed = true;
        for (const off of this.off) off();
        clearTimeout(this.publishTimer);
        clearTimeout(this.typingTimer);
      }
    },
  );
  return [membersField, plugin, theme];
}
