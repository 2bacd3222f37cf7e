// The demo editor served at `/`: a document picker (the document is
// ?doc=NAME in the URL), CodeMirror bound to a Quire document, who is here
// and who is typing, and the connection indicator. It keeps working
// offline: the service worker (sw.js) serves the page, IndexedDB keeps the
// outbox, and the edits are sent when the network is back.
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { QuireClient, IndexedDBStore, claimTabIdentity } from '@quire/client';
import { quireBinding } from '@quire/client/codemirror';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const docName = params.get('doc') || 'welcome';
const NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Leslie'];

function userName() {
  const fromUrl = params.get('name');
  if (fromUrl) return fromUrl;
  let name = localStorage.getItem('quire.name');
  if (!name) {
    name = NAMES[Math.floor(Math.random() * NAMES.length)];
    localStorage.setItem('quire.name', name);
  }
  return name;
}

// A color from the name, the same everywhere (the server picks one from
// the user id, and in dev mode everyone is the same anonymous user).
export function colorFor(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  const hue = h % 360;
  return hslToHex(hue, 0.65, 0.45);
}

function hslToHex(h, s, l) {
  const f = (n) => {
    const k = (n + h / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

function initials(name) {
  const parts = String(name).trim().split(/\s+/);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : parts[0].slice(0, 2);
  return s.toUpperCase();
}

function setupPicker() {
  const recent = JSON.parse(localStorage.getItem('quire.recent') || '[]').filter((d) => d !== docName);
  recent.unshift(docName);
  localStorage.setItem('quire.recent', JSON.stringify(recent.slice(0, 10)));
  $('doc-input').value = docName;
  $('recent-docs').replaceChildren(...recent.map((d) => Object.assign(document.createElement('option'), { value: d })));
  $('picker').addEventListener('submit', (e) => {
    e.preventDefault();
    const next = $('doc-input').value.trim();
    if (!next) return;
    const url = new URL(location.href);
    url.searchParams.set('doc', next);
    location.href = url.toString();
  });
  $('second').href = location.href;
  document.title = `${docName} · Quire`;
}

function renderStatus(client, doc) {
  const el = $('status');
  const s = client.status;
  const n = s.pending;
  const edits = `${n} pending edit${n === 1 ? '' : 's'}`;
  let text;
  switch (s.state) {
    case 'synced':
      text = 'Connected';
      break;
    case 'connected':
      text = n ? `Connected · sending ${edits}` : 'Connected · syncing';
      break;
    case 'connecting':
      text = n ? `Connecting · ${edits}` : 'Connecting…';
      break;
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil((s.nextAttemptAt - Date.now()) / 1000));
      text = `Offline · ${edits} · reconnecting in ${secs} s`;
      break;
    }
    case 'offline':
      text = `Offline · ${edits}` + (s.reason && s.reason !== 'network' ? ` (${s.reason})` : '');
      break;
    default:
      text = s.state;
  }
  el.textContent = text;
  el.dataset.state = s.state;
  el.dataset.pending = String(n);
  el.dataset.saved = String(doc.written >= doc.version);
}

function renderPresence(client, doc, me) {
  const avatar = (name, color, { self = false, typing = false, session = '' } = {}) => {
    const a = document.createElement('div');
    a.className = 'avatar' + (self ? ' self' : '') + (typing ? ' typing' : '');
    a.style.background = color;
    a.textContent = initials(name);
    a.title = self ? `${name} (you)` : name;
    a.dataset.name = name;
    if (session) a.dataset.session = session;
    return a;
  };
  const others = doc.members();
  $('presence').replaceChildren(
    avatar(me.name, me.color, { self: true }),
    ...others.map((m) =>
      avatar(m.user?.name ?? '?', m.user?.color ?? '#888', { typing: m.typing, session: m.session }),
    ),
  );
  const typing = others.filter((m) => m.typing).map((m) => m.user?.name ?? 'someone');
  $('typing').textContent =
    typing.length === 0 ? '' : typing.length === 1 ? `${typing[0]} is typing…` : `${typing.join(', ')} are typing…`;
}

function notice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = !text;
}

async function main() {
  setupPicker();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('quire: no service worker', e));
  }
  const me = { name: userName() };
  me.color = colorFor(me.name);
  $('rename').textContent = me.name;

  const store = new IndexedDBStore('quire');
  const storeKey = await claimTabIdentity(store);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = new QuireClient({ url: `${scheme}://${location.host}/ws`, name: me.name, store, storeKey });
  client.setUser({ name: me.name, color: me.color });
  await client.start();
  const doc = await client.open(docName);

  const editable = new Compartment();
  const view = new EditorView({
    parent: $('editor'),
    state: EditorState.create({
      doc: doc.text,
      extensions: [
        lineNumbers(),
        highlightActiveLine(),
        drawSelection(),
        history(),
        keymap.of([...historyKeymap, ...defaultKeymap]),
        EditorView.lineWrapping,
        editable.of(EditorView.editable.of(doc.loaded)),
        quireBinding(doc),
      ],
    }),
  });
  $('editor').classList.toggle('loading', !doc.loaded);
  doc.on('synced', () => {
    view.dispatch({ effects: editable.reconfigure(EditorView.editable.of(true)) });
    $('editor').classList.remove('loading');
  });
  doc.on('error', (e) => {
    if (e.refused) notice(`The server refused your last edits (${e.message}); the document was reloaded.`);
  });

  $('rename').addEventListener('click', () => {
    const name = prompt('Your name', me.name)?.trim();
    if (!name) return;
    localStorage.setItem('quire.name', name);
    me.name = name;
    me.color = colorFor(name);
    $('rename').textContent = name;
    client.setUser({ name, color: me.color });
    renderPresence(client, doc, me);
  });

  const status = () => renderStatus(client, doc);
  client.on('status', status);
  doc.on('persisted', status);
  doc.on('change', status);
  setInterval(status, 500); // The reconnect countdown.
  status();
  doc.on('presence', () => renderPresence(client, doc, me));
  renderPresence(client, doc, me);

  view.focus();
  // For the end-to-end tests and for poking at it from the console.
  window.quire = { client, doc, view, me };
}

main().catch((e) => {
  console.error(e);
  notice(`Quire could not start: ${e.message}`);
});
