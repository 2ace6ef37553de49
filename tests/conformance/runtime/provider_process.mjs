// A channel provider in its own process: reports client disconnections as events, exits (closing its socket
// without destroying the channel) when pytest writes a line on stdin.
import { connectAs, emit, run, within } from '../harness.mjs';
import { createInterface } from 'node:readline';

run(async ({ address, uuid, channelName }) => {
  const fin = await connectAs(address, uuid);
  const provider = await fin.InterApplicationBus.Channel.create(channelName);
  provider.register('echo', (payload) => payload);
  provider.onConnection((identity) => emit('client-connected', identity));
  provider.onDisconnection((identity) => emit('client-disconnected', identity));
  emit('ready', provider.connections.length);
  const lines = createInterface({ input: process.stdin });
  await within(60000, new Promise((resolve) => lines.once('line', resolve)), 'a line on stdin');
  return { exiting: true };
});
