// An app on the adapter's channel for the bus fairness and bounds tests, driven line by line over stdin.
//
// params: {address, uuid, channelName, hang?}. It connects to the runtime as `uuid`, then to the adapter's
// channel (event "channel"). Its `servicenow.recordChanged` handler emits "recordChanged" with the event,
// or, with `hang`, never returns (a hung app). Commands (one JSON object per line):
//   {op: "dispatch", id, action, payload}          -> "reply" {id, ok, result | error}
//   {op: "nested", id, action, depth}              -> dispatches a payload nested `depth` levels deep
//                                                     (built here: Python's json cannot write it); reply
//   {op: "flood", id, action, payload, count,      -> `count` dispatches at once, not awaited; "reply" at
//    distinct?}                                       once, then "flooded" {ok, errors: {name: n}}; with
//                                                     `distinct`, dispatch n reads payload.apiEndpoint
//                                                     plus `&sysparm_offset=n` (reads that cannot share)
//   {op: "exit"}                                   -> ends with the result line
import readline from 'node:readline';
import { connectAs, describe, emit, run, within } from '../conformance/harness.mjs';

const offset = (payload, n) => ({ ...payload, apiEndpoint: `${payload.apiEndpoint}&sysparm_offset=${n}` });

run(async ({ address, uuid, channelName, hang }) => {
  const fin = await connectAs(address, uuid);
  const client = await within(20000, fin.InterApplicationBus.Channel.connect(channelName), 'adapter channel');
  client.register('servicenow.recordChanged', (payload) => {
    if (hang) return new Promise(() => {});
    emit('recordChanged', payload);
    return undefined;
  });
  client.register('servicenow.connectionChanged', () => undefined);
  emit('channel', client.providerIdentity);

  const reply = async (id, work) => {
    try {
      emit('reply', { id, ok: true, result: await within(60000, work(), `command ${id}`) });
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
    } else if (command.op === 'nested') {
      let nested = {};
      for (let level = 0; level < command.depth; level += 1) nested = { nested };
      await reply(command.id, () => client.dispatch(command.action, nested));
    } else if (command.op === 'flood') {
      const outcome = { ok: 0, errors: {} };
      const all = [];
      for (let n = 0; n < command.count; n += 1) {
        all.push(
          client.dispatch(command.action, command.distinct ? offset(command.payload, n) : command.payload).then(
            () => {
              outcome.ok += 1;
            },
            (err) => {
              const name = err?.cause?.name ?? err?.name ?? 'Error';
              outcome.errors[name] = (outcome.errors[name] ?? 0) + 1;
            },
          ),
        );
      }
      emit('reply', { id: command.id, ok: true, result: command.count });
      Promise.all(all).then(() => emit('flooded', outcome));
    }
  }
  return { done: true };
});
