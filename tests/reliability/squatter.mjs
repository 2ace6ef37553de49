// Another process that takes the adapter's channel name while the adapter is away, holds it, and lets go.
//
// params: {address, uuid, channelName, holdMs}. It connects to the runtime ("connected"), then tries to create
// the channel every few milliseconds (refused while the adapter holds the name); once it holds it, it emits
// "holding", keeps it `holdMs` milliseconds, destroys it and emits "released", and then stays until killed.
import { connectAs, emit, run } from '../conformance/harness.mjs';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

run(async ({ address, uuid, channelName, holdMs }) => {
  const fin = await connectAs(address, uuid);
  emit('connected');
  let provider;
  while (provider === undefined) {
    try {
      provider = await fin.InterApplicationBus.Channel.create(channelName);
    } catch {
      await pause(2);
    }
  }
  emit('holding');
  await pause(holdMs);
  await provider.destroy();
  emit('released');
  await new Promise(() => {});
});
