// One side of the side-by-side check: the scenario (scenario.mjs) run against the official
// @openfin/servicenow (side "official") or the adapter's client library (side "library"), in the same
// environment: a node-adapter `fin` on the runtime emulator with the browser shims of browser_env.mjs.
//
// params: {address, uuid, side, instanceUrl, clientId}
import { connectAs, run } from '../harness.mjs';
import { installBrowserEnvironment, unhandledRejections } from './browser_env.mjs';
import { runScenario } from './scenario.mjs';

const MODULES = {
  official: '@openfin/servicenow',
  library: '../../../clients/js/index.js',
};

run(async ({ address, uuid, side, instanceUrl, clientId }) => {
  const fin = await connectAs(address, uuid);
  installBrowserEnvironment(fin);
  const api = await import(MODULES[side]);
  const outcome = await runScenario(api, { instanceUrl, clientId });
  return { ...outcome, unhandledRejections };
});
