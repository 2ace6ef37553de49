// Many apps in one node process, each its own node-adapter connection (own websocket, own uuid), all on the
// adapter's channel and, optionally, in the `servicenow` session context group of the platform's broker.
//
// argv[2]: {address, channelName, broker, count, prefix, session, readOnChange}. Every app signs in
// (servicenow.connect: it holds a share, so it is "watching") and records when each servicenow.recordChanged
// event and each servicenow.case context arrives (wall-clock ms). With readOnChange, each app reads the
// changed record again on the event, as an app showing it would. Prints {"event": "ready", "data": {apps}}
// once all are in.
// stdin: {op: "arrivals", id, number} -> [{kind: "event" | "context", t}] for that case number;
//        {op: "read", id, endpoint, at} -> {ms, errors}: every app reads `endpoint` at once, at wall-clock ms `at`;
//        {op: "changeReads", id} -> {done, errors}: the reads made on events so far (then reset).
import { connect, emit, serveCommands, wallMs, within } from './openfin.mjs';

const { address, channelName, broker, count, prefix, session, readOnChange } = JSON.parse(process.argv[2]);
const arrivals = new Map();
const clients = [];
const changeReads = { done: 0, errors: 0 };

function read(client, endpoint) {
  return client.dispatch('servicenow.request', { apiEndpoint: endpoint, httpMethod: 'GET' });
}

function readAgain(client, event) {
  read(client, `/api/now/table/${event.table}/${event.sys_id}`).then(
    () => { changeReads.done += 1; },
    () => { changeReads.errors += 1; },
  );
}

function arrived(number, kind) {
  const t = wallMs();
  if (!arrivals.has(number)) arrivals.set(number, []);
  arrivals.get(number).push({ kind, t });
}

async function startApp(index) {
  const fin = await connect({ uuid: `${prefix}-${index}`, address, nonPersistent: true });
  const client = await within(20000, fin.InterApplicationBus.Channel.connect(channelName), 'adapter channel');
  client.register('servicenow.recordChanged', (event) => {
    arrived(event.number, 'event');
    if (readOnChange) readAgain(client, event);
  });
  clients.push(client);
  client.register('servicenow.connectionChanged', () => null);
  await client.dispatch('servicenow.connect', {});
  if (session) {
    const interop = fin.Interop.connectSync(broker, {});
    const group = await interop.joinSessionContextGroup('servicenow');
    await group.addContextHandler((context) => arrived(context?.id?.number, 'context'));
  }
}

const BATCH = 10;
for (let first = 0; first < count; first += BATCH) {
  const batch = [];
  for (let index = first; index < Math.min(count, first + BATCH); index += 1) batch.push(startApp(index));
  await Promise.all(batch);
}
emit('ready', { apps: count });
await serveCommands({
  arrivals: ({ number }) => {
    const seen = arrivals.get(number) ?? [];
    arrivals.delete(number);
    return seen;
  },
  read: async ({ endpoint, at }) => {
    // Every process starts its apps' reads at the same wall-clock moment, so that "at once" holds across them.
    await new Promise((resolve) => { setTimeout(resolve, Math.max(0, (at ?? 0) - wallMs())); });
    const began = performance.now();
    const outcomes = await Promise.allSettled(clients.map((client) => read(client, endpoint)));
    return { ms: performance.now() - began, errors: outcomes.filter((o) => o.status === 'rejected').length };
  },
  changeReads: () => {
    const seen = { ...changeReads };
    changeReads.done = 0;
    changeReads.errors = 0;
    return seen;
  },
});
