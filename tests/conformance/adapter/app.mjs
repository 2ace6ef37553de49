// A desktop app on the adapter's channel, driven line by line from pytest over stdin.
//
// params: {address, uuid, channelName, broker?}. On start it connects to the runtime as `uuid`, then to the
// adapter's channel (emitting "channel" with the connection result, or "refused" with the error), and
// records the adapter's events ("servicenow.recordChanged", "servicenow.connectionChanged",
// "servicenow.caseNotification") as progress events. Commands (one JSON object per line):
//   {op: "dispatch", id, action, payload}     -> event "reply" {id, ok, result | error}
//   {op: "dispatchLater", id, action, payload} -> as dispatch, but the next command is read at once
//   {op: "session", id, group}                 -> joins a session context group; contexts arrive as "context"
//   {op: "group", id, group}                   -> joins a user channel (context group); contexts arrive as "groupContext"
//   {op: "intent", id, name, context}          -> raises an intent through the broker; reply as for dispatch
//   {op: "fdc3Intent", id, name, context}      -> FDC3 2.0 raiseIntent, then getResult() until the result has
//                                                 arrived; reply {source, intent, result}, or the FDC3 error
//   {op: "browserUrls", id}                    -> the URLs the runtime emulator was asked to open in the browser
//   {op: "exit"}                               -> ends with the result line
import readline from 'node:readline';
import { connectAs, describe, emit, run, within } from '../harness.mjs';

run(async ({ address, uuid, channelName, broker }) => {
  const fin = await connectAs(address, uuid);
  let client;
  try {
    client = await within(20000, fin.InterApplicationBus.Channel.connect(channelName), 'adapter channel');
  } catch (err) {
    emit('refused', describe(err));
    return { refused: describe(err) };
  }
  for (const action of ['servicenow.recordChanged', 'servicenow.connectionChanged', 'servicenow.caseNotification']) {
    client.register(action, (payload) => {
      emit(action, payload);
    });
  }
  emit('channel', client.providerIdentity);

  let interop;
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
    if (command.op === 'dispatch') {
      await reply(command.id, () => client.dispatch(command.action, command.payload));
    } else if (command.op === 'dispatchLater') {
      reply(command.id, () => client.dispatch(command.action, command.payload));
    } else if (command.op === 'session') {
      await reply(command.id, async () => {
        interop ??= fin.Interop.connectSync(broker, {});
        const group = await interop.joinSessionContextGroup(command.group);
        await group.addContextHandler((context) => emit('context', context));
        return true;
      });
    } else if (command.op === 'group') {
      await reply(command.id, async () => {
        interop ??= fin.Interop.connectSync(broker, {});
        await interop.joinContextGroup(command.group);
        await interop.addContextHandler((context) => emit('groupContext', context));
        return true;
      });
    } else if (command.op === 'intent') {
      await reply(command.id, async () => {
        interop ??= fin.Interop.connectSync(broker, {});
        const resolution = await interop.fireIntent({ name: command.name, context: command.context });
        return resolution;
      });
    } else if (command.op === 'browserUrls') {
      await reply(command.id, async () => (await fin.wire.sendAction('emulator-get-browser-urls')).payload.data);
    } else if (command.op === 'fdc3Intent') {
      await reply(command.id, async () => {
        interop ??= fin.Interop.connectSync(broker, {});
        // node-adapter's getIntentResolution reads a global `fin` (it exists in OpenFin windows and views).
        globalThis.fin = fin;
        const resolution = await interop.getFDC3Sync('2.0').raiseIntent(command.name, command.context);
        // getResult() answers undefined until the handler's result has arrived over the bus (bounded by reply).
        for (;;) {
          const result = await resolution.getResult();
          if (result !== undefined) {
            return { source: resolution.source, intent: resolution.intent, result };
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
    }
  }
  return { done: true };
});
