// Refusals a node-adapter user meets: a provider rejecting a connection, wait:false to a missing channel,
// creating a channel name twice.
import { connectAs, describe, run } from '../harness.mjs';

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return describe(err);
  }
}

run(async ({ address }) => {
  const providerFin = await connectAs(address, 'provider-app');
  const clientFin = await connectAs(address, 'client-app');
  const provider = await providerFin.InterApplicationBus.Channel.create('guarded');
  provider.onConnection((identity, payload) => {
    if (!payload || payload.password !== 'open sesame') {
      throw new Error(`not allowed: ${identity.uuid}`);
    }
  });
  const rejected = await failure(clientFin.InterApplicationBus.Channel.connect('guarded', { payload: {} }));
  const accepted = await clientFin.InterApplicationBus.Channel.connect('guarded', {
    payload: { password: 'open sesame' },
  });
  const missing = await failure(clientFin.InterApplicationBus.Channel.connect('nobody-home', { wait: false }));
  const duplicate = await failure(clientFin.InterApplicationBus.Channel.create('guarded'));
  return {
    rejected,
    acceptedChannel: accepted.providerIdentity.channelName,
    missing,
    duplicate,
  };
});
