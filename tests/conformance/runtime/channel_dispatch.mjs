// Provider and client on two connections: the client connects before the channel exists and waits,
// then both sides dispatch to each other and the provider publishes.
import { connectAs, deferred, run, within } from '../harness.mjs';

run(async ({ address, channelName }) => {
  const providerFin = await connectAs(address, 'provider-app');
  const clientFin = await connectAs(address, 'client-app');

  // At least one connect attempt must meet a missing channel before the provider creates it: node-adapter
  // says so (console.warn, once, on the first refusal) before it starts waiting; that is the signal awaited.
  const refused = deferred();
  const warn = console.warn;
  console.warn = (...args) => {
    if (String(args[0]).startsWith(`No channel found for channelName: ${channelName}`)) refused.resolve();
    warn(...args);
  };
  const connecting = clientFin.InterApplicationBus.Channel.connect(channelName, { payload: { hello: 'provider' } });
  await within(10000, refused.promise, 'a connect attempt refused for want of the channel');
  console.warn = warn;

  const provider = await providerFin.InterApplicationBus.Channel.create(channelName);
  const seenConnection = deferred();
  provider.onConnection((identity, payload) => {
    seenConnection.resolve({ identity, payload });
    return { welcome: identity.uuid };
  });
  provider.register('echo', (payload, identity) => ({ echoed: payload, from: identity.uuid }));

  let client;
  try {
    client = await within(10000, connecting, 'Channel.connect');
  } catch (error) {
    // The runtime acks create-channel, then announces the channel; the waiting client, woken by that, can
    // reach the provider so fast that the provider reads the ack and the connection in one go and answers
    // before it has stored its channel (node-adapter's processChannelConnection). node-adapter's client does
    // not retry on that answer; the adapter's own client does (adapter/openfin/README.md). So once, here.
    if (error.message !== `Channel "${channelName}" has been destroyed.`) throw error;
    const again = clientFin.InterApplicationBus.Channel.connect(channelName, { payload: { hello: 'provider' } });
    client = await within(10000, again, 'Channel.connect, again');
  }
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
