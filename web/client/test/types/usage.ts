// Compiled (never run) by the web_client_types test: the declarations
// describe the package as an application uses it.
import { QuireClient, MemoryStore, type Status, type Member, utf16ChangesToOp, cpLength } from '@quire/client';
import { quireBinding, quireRemote } from '@quire/client/codemirror';
import { EditorState, Transaction } from '@codemirror/state';

async function demo(): Promise<string> {
  const client = new QuireClient({ url: 'ws://127.0.0.1:8080/ws', store: new MemoryStore(), storeKey: 'tab-1' });
  client.on('status', (s: Status) => console.log(s.state, s.pending, s.nextAttemptAt));
  await client.start();
  const doc = await client.open('notes');
  doc.insert(0, 'héllo 😀');
  doc.delete(0, 1);
  doc.apply(utf16ChangesToOp(doc.text, [{ from: 0, to: 0, insert: 'x' }]));
  doc.setPresence({ cursor: 3, sel: [[0, 2]], typing: true, user: { name: 'Ada', color: '#ff0000' } });
  doc.on('presence', ({ type, member }: { type: string; member: Member }) => console.log(type, member.cursor));
  doc.on('change', ({ op, remote }) => console.log(op.length, remote));
  const state = EditorState.create({ doc: doc.text, extensions: [quireBinding(doc, { throttleMs: 100 })] });
  const tr: Transaction = state.update({ annotations: quireRemote.of(true) });
  await client.whenPersisted();
  client.close();
  return `${cpLength(tr.state.doc.toString())} ${client.agent ?? 0n}`;
}
void demo;
