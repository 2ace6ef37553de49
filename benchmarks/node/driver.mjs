// The load generator: one app (node-adapter connection) that calls ServiceNow by every path under test.
//
// argv[2]: {address, uuid, adapterChannel, jsChannel, instanceUrl, token}. On start it connects to the runtime,
// to both channels, and signs in through the adapter (servicenow.connect), then prints {"event": "ready"}.
// Paths: "fetch" (node fetch straight to the instance), "adapter" / "js" (servicenow.request through our
// adapter / the reference JavaScript provider), "adapter-floor" / "js-floor" (servicenow.status: no HTTP).
// stdin commands, each answered by {"event": "reply", "data": {id, ok, result | error}}:
//   {op: "latency", id, paths, endpoint, count}         -> {path: [ms, ...]}, paths interleaved per round
//   {op: "load", id, path, endpoint, concurrency, requests} -> {elapsedMs, requests, errors, firstError, latencies}
//     (with `endpoints` instead of `endpoint`, request i reads endpoints[i % endpoints.length])
//   {op: "dispatch", id, action, payload}                -> the adapter's result
//   {op: "token", id, token}                             -> replaces the bearer token of the fetch path
import { connect, emit, serveCommands, within } from './openfin.mjs';

const params = JSON.parse(process.argv[2]);
const { address, uuid, adapterChannel, jsChannel, instanceUrl } = params;
let { token } = params;

const fin = await connect({ uuid, address, nonPersistent: true });
const adapter = await within(20000, fin.InterApplicationBus.Channel.connect(adapterChannel), 'adapter channel');
const js = jsChannel
  ? await within(20000, fin.InterApplicationBus.Channel.connect(jsChannel), 'js channel')
  : null;
// A well-behaved app: it listens to the adapter's events (an unhandled dispatch would cost an error reply).
for (const event of ['servicenow.recordChanged', 'servicenow.connectionChanged']) adapter.register(event, () => null);
await adapter.dispatch('servicenow.connect', {});

async function direct(endpoint) {
  const response = await fetch(new URL(endpoint, instanceUrl), {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return body;
}

const paths = {
  fetch: (endpoint) => direct(endpoint),
  adapter: (endpoint) => adapter.dispatch('servicenow.request', { apiEndpoint: endpoint, httpMethod: 'GET' }),
  js: (endpoint) => js.dispatch('servicenow.request', { apiEndpoint: endpoint, httpMethod: 'GET' }),
  'adapter-floor': () => adapter.dispatch('servicenow.status', {}),
  'js-floor': () => js.dispatch('servicenow.status', {}),
};

async function latency({ paths: names, endpoint, count }) {
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < count; round += 1) {
    // Rotate the order each round so that no path always runs first (or right after another).
    for (let k = 0; k < names.length; k += 1) {
      const name = names[(round + k) % names.length];
      const started = performance.now();
      await paths[name](endpoint);
      samples[name].push(performance.now() - started);
    }
  }
  return samples;
}

async function load({ path, endpoint, endpoints, concurrency, requests }) {
  const targets = endpoints ?? [endpoint];
  let next = 0;
  let errors = 0;
  let firstError = null;
  const latencies = [];
  const call = paths[path];
  const worker = async () => {
    while (next < requests) {
      const target = targets[next % targets.length];
      next += 1;
      const began = performance.now();
      try {
        await call(target);
      } catch (err) {
        errors += 1;
        firstError ??= String(err?.message ?? err);
      }
      latencies.push(performance.now() - began);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { elapsedMs: performance.now() - started, requests, errors, firstError, latencies };
}

emit('ready', { uuid });
await serveCommands({
  latency,
  load,
  dispatch: ({ action, payload }) => adapter.dispatch(action, payload),
  token: (command) => {
    token = command.token;
    return true;
  },
});
