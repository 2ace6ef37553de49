// A channel client in its own process: connects (waiting for the provider), dispatches once, then returns the
// provider-gone event, or exits (closing its socket) when pytest writes a line on stdin.
import { connectAs, deferred, emit, run, within } from '../harness.mjs';
import { createInterface } from 'node:readline';

run(async ({ address, uuid, channelName }) => {
  const fin = await connectAs(address, uuid);
  const client = await within(20000, fin.InterApplicationBus.Channel.connect(channelName), 'Channel.connect');
  const gone = deferred();
  client.onDisconnection((event) => gone.resolve({ providerGone: event }));
  const echoed = await client.dispatch('echo', { from: uuid });
  emit('connected', echoed);
  const lines = createInterface({ input: process.stdin });
  const told = new Promise((resolve) => lines.once('line', () => resolve({ toldToLeave: true })));
  return within(60000, Promise.race([gone.promise, told]), 'provider gone or a line on stdin');
});
