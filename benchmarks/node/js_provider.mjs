// The reference JavaScript provider: the channel a team would write with @openfin/node-adapter instead of
// using the adapter. It serves `servicenow.request` (the same Table API call, with `fetch` and one bearer
// token) and `servicenow.status` (no HTTP: the bus floor) on its own channel.
//
// argv[2]: {address, uuid, channelName, instanceUrl, token}. Prints {"event": "ready"} once the channel exists;
// stdin command {op: "token", token} replaces the bearer token.
import { connect, emit, serveCommands } from './openfin.mjs';

const { address, uuid, channelName, instanceUrl } = JSON.parse(process.argv[2]);
let { token } = JSON.parse(process.argv[2]);

const fin = await connect({ uuid, address, nonPersistent: true });
const provider = await fin.InterApplicationBus.Channel.create(channelName);

provider.register('servicenow.request', async (payload) => {
  if (typeof payload?.apiEndpoint !== 'string' || !payload.apiEndpoint.startsWith('/')) {
    throw new Error('ParameterError: apiEndpoint must be a path');
  }
  const response = await fetch(new URL(payload.apiEndpoint, instanceUrl), {
    method: payload.httpMethod ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`ApiRequestError: ${response.status}`);
  }
  return { status: response.status, data: body.result, type: 'json' };
});
provider.register('servicenow.status', () => ({ connections: [], watching: [] }));

emit('ready', { channelName });
await serveCommands({
  token: (command) => {
    token = command.token;
    return true;
  },
});
