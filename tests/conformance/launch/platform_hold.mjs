// The platform provider under @openfin/node-adapter (the emulator's built-in broker plays the platform's broker): launch the adapter with launch-adapter.mjs unchanged, report
// the connected channel, then hold the platform's connection open until pytest writes a line on stdin.
import { createInterface } from 'node:readline';
import { connectAs, emit, run, within } from '../harness.mjs';
import { launchAdapter } from '../../../manifests/provider/launch-adapter.mjs';

run(async ({ address, providerUuid, brokerUuid, alias, channelName, extraArgs, timeoutMs, useToken }) => {
  const fin = await connectAs(address, providerUuid);
  const client = await launchAdapter(fin, { alias, channelName, brokerUuid, extraArgs, timeoutMs, useToken });
  emit('launched', { providerIdentity: client.providerIdentity });
  const lines = createInterface({ input: process.stdin });
  await within(60000, new Promise((resolve) => lines.once('line', resolve)), 'a line on stdin');
  return { left: true };
});
