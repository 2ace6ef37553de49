// An app that raises FDC3 intents through the platform's broker without ever connecting to the adapter's
// channel (as an app refused by --allow-app still can), driven line by line from pytest over stdin.
//
// params: {address, uuid, broker}. Emits "ready" once connected to the runtime. Commands (one JSON a line):
//   {op: "intent", id, name, context}  -> interop.fireIntent({name, context}); event "reply" {id, ok, result | error}
//   {op: "browserUrls", id}            -> the URLs the runtime emulator was asked to open in the browser
//   {op: "exit"}                       -> ends with the result line
import readline from 'node:readline';
import { connectAs, describe, emit, run, within } from '../conformance/harness.mjs';

run(async ({ address, uuid, broker }) => {
  const fin = await connectAs(address, uuid);
  const interop = fin.Interop.connectSync(broker, {});
  emit('ready', uuid);
  const reply = async (id, work) => {
    try {
      emit('reply', { id, ok: true, result: await within(30000, work(), `command ${id}`) });
    } catch (err) {
      emit('reply', { id, ok: false, error: describe(err) });
    }
  };
  const lines = readline.createInterface({ input: process.stdin });
  for await (const text of lines) {
    const command = JSON.parse(text);
    if (command.op === 'exit') break;
    if (command.op === 'intent') {
      await reply(command.id, () => interop.fireIntent({ name: command.name, context: command.context }));
    } else if (command.op === 'browserUrls') {
      await reply(command.id, async () => (await fin.wire.sendAction('emulator-get-browser-urls')).payload.data);
    }
  }
  return { done: true };
});
