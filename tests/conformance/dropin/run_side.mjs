// One side of the side-by-side check: the scenario (scenario.mjs) run against the official
// @openfin/servicenow (side "official") or the adapter's client library (side "library"), in the same
// environment: a node-adapter `fin` on the runtime emulator with the browser shims of browser_env.mjs.
//
// params: {address, uuid, side, instanceUrl, clientId, watchedTable}
import { connectAs, run } from '../harness.mjs';
import { createdWindows, installBrowserEnvironment, unhandledRejections } from './browser_env.mjs';
import { runScenario } from './scenario.mjs';

const MODULES = {
  official: '@openfin/servicenow',
  library: '../../../clients/js/index.js',
};

// The adapter reads each watched table once after a login, on its own; the harness waits for those reads
// (counted by the emulator) before the scenario moves the instance's clock. The official package has none.
async function adapterSettled(instanceUrl, table, logins) {
  const key = `GET /api/now/table/${table}`;
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const { requests } = await (await fetch(`${instanceUrl}/__emulator/stats`)).json();
    if ((requests[key] ?? 0) >= logins) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the adapter never read ${table} after ${logins} login(s)`);
}

run(async ({ address, uuid, side, instanceUrl, clientId, watchedTable }) => {
  const fin = await connectAs(address, uuid);
  installBrowserEnvironment(fin);
  const api = await import(MODULES[side]);
  const settled = side === 'library' ? (logins) => adapterSettled(instanceUrl, watchedTable, logins) : undefined;
  const outcome = await runScenario(api, { instanceUrl, clientId, settled });
  // The official package's unawaited removeAllListeners() fails only after its unsubscribes have gone round
  // the bus, so the scenario can end before it does: wait (bounded) for the first one. How many follow depends
  // on when its close() lands among them (1 to 3 seen), so that count is not awaited. The library opens no
  // window and waits for nothing.
  const deadline = Date.now() + 10_000;
  while (createdWindows.count > 0 && unhandledRejections.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ...outcome, unhandledRejections, createdWindows: createdWindows.count };
});
