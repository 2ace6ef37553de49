// A client connecting without a payload, then one with an explicit payload: what the provider's
// onConnection receives as its second argument (reported with its JavaScript type, since JSON would turn
// undefined into a missing key and hide the difference from null).
import { connectAs, run, within } from '../harness.mjs';

run(async ({ address, channelName }) => {
  const providerFin = await connectAs(address, 'payload-provider');
  const provider = await providerFin.InterApplicationBus.Channel.create(channelName);
  const seen = [];
  provider.onConnection((identity, payload) => {
    seen.push({ uuid: identity.uuid, type: payload === null ? 'null' : typeof payload, payload });
  });
  const bare = await connectAs(address, 'bare-client');
  await within(10000, bare.InterApplicationBus.Channel.connect(channelName), 'connect without payload');
  const loaded = await connectAs(address, 'loaded-client');
  await within(10000, loaded.InterApplicationBus.Channel.connect(channelName, { payload: { hi: 1 } }), 'connect');
  return seen;
});
