// What a channel client sees when the provider's handlers throw, or when it dispatches an unknown action.
import { connectAs, describe, run } from '../harness.mjs';

async function outcome(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
}

run(async ({ address, channelName }) => {
  const providerFin = await connectAs(address, 'provider-app');
  const clientFin = await connectAs(address, 'client-app');
  const provider = await providerFin.InterApplicationBus.Channel.create(channelName);
  provider.register('sync-throw', () => {
    throw new TypeError('bad input');
  });
  provider.register('async-throw', async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    throw new RangeError('out of range');
  });
  const client = await clientFin.InterApplicationBus.Channel.connect(channelName);
  client.register('client-throw', () => {
    throw new SyntaxError('client side');
  });
  const [clientIdentity] = provider.connections;
  return {
    syncThrow: await outcome(client.dispatch('sync-throw', {})),
    asyncThrow: await outcome(client.dispatch('async-throw', {})),
    unknown: await outcome(client.dispatch('no-such-action', {})),
    providerToClientThrow: await outcome(provider.dispatch(clientIdentity, 'client-throw', {})),
    providerToClientUnknown: await outcome(provider.dispatch(clientIdentity, 'nothing-here', {})),
  };
});
