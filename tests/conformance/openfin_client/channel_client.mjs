// A node-adapter channel client of our Python provider.
// Connects (optionally rejected), runs the dispatches pytest asked for, then serves the provider's own
// dispatches and publishes ('ping', 'news') until pytest says "finish"; reports everything it saw.
import { connectAs, emit, run, within } from '../harness.mjs';
import { describeFully, instruction, settle } from './peer.mjs';

run(async ({ address, uuid, channelName, connectPayload, wait = true, dispatches = [] }) => {
  const fin = await connectAs(address, uuid);
  let client;
  try {
    client = await within(15000, fin.InterApplicationBus.Channel.connect(channelName, { payload: connectPayload, wait }), 'Channel.connect');
  } catch (err) {
    return { connected: false, error: describeFully(err) };
  }
  const received = [];
  client.register('ping', (payload, identity) => {
    received.push({ action: 'ping', payload, from: identity.uuid });
    return { pong: payload.n + 1 };
  });
  client.register('news', (payload) => {
    received.push({ action: 'news', payload });
    return 'thanks';
  });
  client.register('broken', () => {
    throw new TypeError('this client cannot do that');
  });
  emit('connected', client.providerIdentity);

  const outcomes = [];
  for (const { action, payload } of dispatches) {
    outcomes.push(await settle(client.dispatch(action, payload)));
  }
  emit('dispatched', outcomes);

  for (;;) {
    const message = await instruction();
    if (message.step === 'dispatch') {
      emit('dispatched', [await settle(client.dispatch(message.action, message.payload))]);
    } else if (message.step === 'finish') {
      break;
    }
  }
  await client.disconnect();
  return { connected: true, routing: client.providerIdentity, outcomes, received };
});
