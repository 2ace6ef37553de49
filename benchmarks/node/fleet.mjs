// Many apps in one node process, each its own node-adapter connection (own websocket, own uuid), all on the
// adapter's channel and, optionally, in the `servicenow` session context group of the platform's broker.
//
// argv[2]: {address, channelName, broker, count, prefix, session}. Every app signs in (servicenow.connect: it
// holds a share, so it is "watching") and records when each servicenow.recordChanged event and each
// servicenow.case context arrives (wall-clock ms). Prints {"event": "ready", "data": {apps}} once all are in.
// stdin: {op: "arrivals", id, number} -> [{kind: "event" | "context", t}] for that case number.
import { connect, emit, serveCommands, wallMs, within } from './openfin.mjs';

const { address, channelName, broker, count, prefix, session } = JSON.parse(process.argv[2]);
const arrivals = new Map();

function arrived(number, kind) {
  const t = wallMs();
  if (!arrivals.has(number)) arrivals.set(number, []);
  arrivals.get(number).push({ kind, t });
}

async function startApp(index) {
  const fin = await connect({ uuid: `${prefix}-${index}`, address, nonPersistent: true });
  const client = await within(20000, fin.InterApplicationBus.Channel.connect(channelName), 'adapter channel');
  client.register('servicenow.recordChanged', (event) => arrived(event.number, 'event'));
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
});
