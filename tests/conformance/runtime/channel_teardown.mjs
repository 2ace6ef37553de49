// Client disconnect and provider destroy, with the events each side observes.
import { connectAs, deferred, run, within } from '../harness.mjs';

run(async ({ address }) => {
  const providerFin = await connectAs(address, 'provider-app');
  const clientFin = await connectAs(address, 'client-app');
  const provider = await providerFin.InterApplicationBus.Channel.create('teardown');
  const clientLeft = deferred();
  provider.onDisconnection((identity) => clientLeft.resolve(identity));

  const first = await clientFin.InterApplicationBus.Channel.connect('teardown');
  const firstEndpoint = provider.connections[0].endpointId;
  await first.disconnect();
  const leftIdentity = await within(5000, clientLeft.promise, 'provider onDisconnection');
  const connectionsAfterDisconnect = provider.connections.length;

  const second = await clientFin.InterApplicationBus.Channel.connect('teardown');
  const providerGone = deferred();
  second.onDisconnection((event) => providerGone.resolve(event));
  await provider.destroy();
  const goneEvent = await within(5000, providerGone.promise, 'client onDisconnection');
  let dispatchAfterDestroy = null;
  try {
    await second.dispatch('anything', {});
  } catch (err) {
    dispatchAfterDestroy = err.message;
  }
  const channels = await clientFin.InterApplicationBus.Channel.getAllChannels?.()
    .catch(() => null);
  return {
    firstEndpoint,
    leftIdentity,
    connectionsAfterDisconnect,
    goneEvent,
    dispatchAfterDestroy,
    channels: channels ?? null,
  };
});
