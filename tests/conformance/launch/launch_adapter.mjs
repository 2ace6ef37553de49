// The platform provider's side of the launch, under @openfin/node-adapter: connect as the platform, then run
// manifests/provider/launch-adapter.mjs unchanged. Reports what launchAdapter resolved to or how it failed;
// the script then exits, which closes the platform's connection.
import { connectAs, emit, run } from '../harness.mjs';
import { launchAdapter } from '../../../manifests/provider/launch-adapter.mjs';

run(async ({ address, platformUuid, alias, channelName, brokerUuid, extraArgs, timeoutMs }) => {
  const fin = await connectAs(address, platformUuid);
  emit('connected', fin.me.identity);
  try {
    const client = await launchAdapter(fin, { alias, channelName, brokerUuid, extraArgs, timeoutMs });
    return { launched: true, providerIdentity: client.providerIdentity };
  } catch (error) {
    return {
      launched: false,
      error: { name: error.name, code: error.code, message: error.message, processUuid: error.processUuid ?? null },
    };
  }
});
