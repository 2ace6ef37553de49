// Many desktop apps in one node process, each its own node-adapter connection to the runtime and its own
// client of the adapter's channel, driven line by line from pytest over stdin.
//
// params: {address, channelName, apps: [uuid, ...], replyTimeoutMs}. On start every app connects to the runtime
// and to the channel and records the adapter's events; then "ready" {apps}. Commands (one JSON object a line):
//   {op: "connect", id}                       -> every app dispatches servicenow.connect; "reply" {id, result}
//   {op: "load", id, total, concurrency, requests: [{apiEndpoint, httpMethod?, data?}]}
//        -> `total` requests spread round-robin over the apps, `concurrency` in flight per app, the request
//           templates cycled; "reply" {id, result: {sent, ok, lost, errors: {name: n}, statuses: {code: n}}}.
//           A dispatch without an answer within replyTimeoutMs counts as lost.
//   {op: "reconnect", id}                     -> every app connects to the channel again (its provider went
//                                                away and came back); "reply" {id, result: [{ok, error?}]}
//   {op: "events", id}                        -> "reply" {id, result: {uuid: [{event, data}]}} and forgets them
//   {op: "exit"}
import readline from 'node:readline';
import { connectAs, describe, emit, run, within } from '../conformance/harness.mjs';

const EVENTS = ['servicenow.recordChanged', 'servicenow.connectionChanged'];

function errorName(err) {
  const cause = err && typeof err === 'object' ? err.cause : null;
  if (cause && typeof cause === 'object' && cause.name) return cause.name;
  const message = err && typeof err === 'object' ? String(err.message) : String(err);
  const match = /^([A-Za-z]+Error):/.exec(message);
  return match ? match[1] : `untyped: ${message}`;
}

run(async ({ address, channelName, apps: uuids, replyTimeoutMs = 30000 }) => {
  const apps = [];
  const join = async (app) => {
    app.client = await within(20000, app.fin.InterApplicationBus.Channel.connect(channelName), 'channel');
    for (const event of EVENTS) {
      app.client.register(event, (data) => {
        app.events.push({ event, data });
      });
    }
  };
  for (const uuid of uuids) {
    const app = { uuid, fin: await connectAs(address, uuid), client: null, events: [] };
    await join(app);
    apps.push(app);
  }
  emit('ready', { apps: apps.map((app) => app.uuid) });

  const dispatch = (app, action, payload) => within(replyTimeoutMs, app.client.dispatch(action, payload), 'reply');

  async function load({ total, concurrency, requests }) {
    const outcome = { sent: 0, ok: 0, lost: 0, errors: {}, statuses: {} };
    const queues = apps.map(() => []);
    for (let i = 0; i < total; i += 1) queues[i % apps.length].push(requests[i % requests.length]);
    const worker = async (app, queue) => {
      while (queue.length > 0) {
        const request = queue.shift();
        outcome.sent += 1;
        try {
          const result = await dispatch(app, 'servicenow.request', request);
          outcome.ok += 1;
          outcome.statuses[result.status] = (outcome.statuses[result.status] ?? 0) + 1;
        } catch (err) {
          if (String(err?.message).startsWith('timed out after')) {
            outcome.lost += 1;
          } else {
            const name = errorName(err);
            outcome.errors[name] = (outcome.errors[name] ?? 0) + 1;
          }
        }
      }
    };
    const workers = [];
    apps.forEach((app, index) => {
      for (let k = 0; k < concurrency; k += 1) workers.push(worker(app, queues[index]));
    });
    await Promise.all(workers);
    return outcome;
  }

  const lines = readline.createInterface({ input: process.stdin });
  for await (const text of lines) {
    const command = JSON.parse(text);
    if (command.op === 'exit') break;
    try {
      let result;
      if (command.op === 'connect') {
        result = await Promise.all(
          apps.map((app) =>
            dispatch(app, 'servicenow.connect', {}).then(
              (value) => ({ ok: true, value }),
              (err) => ({ ok: false, error: describe(err) }),
            ),
          ),
        );
      } else if (command.op === 'load') {
        result = await load(command);
      } else if (command.op === 'reconnect') {
        result = await Promise.all(
          apps.map((app) =>
            join(app).then(
              () => ({ ok: true }),
              (err) => ({ ok: false, error: describe(err) }),
            ),
          ),
        );
      } else if (command.op === 'events') {
        result = Object.fromEntries(apps.map((app) => [app.uuid, app.events.splice(0)]));
      }
      emit('reply', { id: command.id, ok: true, result });
    } catch (err) {
      emit('reply', { id: command.id, ok: false, error: describe(err) });
    }
  }
  return { done: true };
});
