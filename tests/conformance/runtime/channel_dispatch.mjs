// Provider and client on two connections: the client connects before the channel exists and waits,
// then both sides dispatch to each other and the provider publishes.
import { connectAs, deferred, run, within } from '../harness.mjs';

run(async ({ address, channelName }) => {
  const providerFin = await connectAs(address, 'provider-app');
  const clientFin = await connectAs(address, 'client-app');

  const connecting = clientFin.InterApplicationBus.Channel.connect(channelName, { payload: { hello: 'provider' } });
  // Let at least one connect attempt meet a missing channel before the provider creates it.
  await new Promise((resolve) => setTimeout(resolve, 700));

  const provider = await providerFin.InterApplicationBus.Channel.create(channelName);
  const seenConnection = deferred();
  provider.onConnection((identity, payload) => {
    seenConnection.resolve({ identity, payload });
    return { welcome: identity.uuid };
  });
  provider.register('echo', (payload, identity) => ({ echoed: payload, from: identity.uuid }));

  const client = await within(10000, connecting, 'Channel.connect');
  const published = deferred();
  client.register('ping', (payload) => ({ pong: payload.n + 1 }));
  client.register('news', (payload) => {
    published.resolve(payload);
    return 'thanks';
  });

  const connection = await within(5000, seenConnection.promise, 'onConnection');
  const echo = await client.dispatch('echo', { x: 1 });
  const [clientIdentity] = provider.connections;
  const ping = await provider.dispatch(clientIdentity, 'ping', { n: 41 });
  const publishResults = await Promise.all(provider.publish('news', { headline: 'hi' }));
  const news = await within(5000, published.promise, 'published message');

  return {
    connectionPayload: connection.payload,
    connectionIdentity: connection.identity,
    routingInfo: client.providerIdentity,
    echo,
    ping,
    news,
    publishResults,
  };
});
