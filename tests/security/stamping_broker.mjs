// The stock OpenFin InteropBroker (fin.Interop.init) of a platform that tells intent handlers who raised each
// intent: its handleFiredIntent overwrites the context's FDC3 2.x contextMetadata.source with the identity the
// runtime gave the raiser's broker connection (whatever the raiser wrote there itself), then dispatches to the
// client that registered intent-handler-<name> and returns {source, intent, version, result}.
//
// params: {address, platformUuid}. Emits "ready" once the broker channel accepts clients; runs until killed.
import { connectAs, emit, params } from '../conformance/harness.mjs';

const { address, platformUuid } = params();
const PREFIX = 'intent-handler-';

const fin = await connectAs(address, platformUuid);

await fin.Interop.init(platformUuid, async (InteropBroker) => {
  class StampingBroker extends InteropBroker {
    constructor() {
      super();
      this.handlers = new Map();
    }

    async intentHandlerRegistered(payload, clientIdentity) {
      await super.intentHandlerRegistered(payload, clientIdentity);
      this.handlers.set(payload.handlerId.slice(PREFIX.length), clientIdentity);
    }

    async handleFiredIntent(intent, raiser) {
      const target = this.handlers.get(intent.name);
      if (!target) {
        throw new Error('NoAppsFound');
      }
      const source = { appId: raiser.uuid, instanceId: raiser.endpointId };
      const stamped = { ...intent, context: { ...intent.context, contextMetadata: { source } } };
      const provider = await this.getProvider();
      const result = await provider.dispatch(target, `${PREFIX}${intent.name}`, stamped);
      return { source: { appId: target.uuid, instanceId: target.endpointId }, intent: intent.name, version: '2.0', result };
    }
  }
  return new StampingBroker();
});

// Interop.init resolves before the channel exists; a client connecting with wait:false proves it is up.
const probe = await connectAs(address, `${platformUuid}-probe`);
for (let attempt = 0; ; attempt += 1) {
  try {
    const client = await probe.InterApplicationBus.Channel.connect(`interop-broker-${platformUuid}`, { wait: false });
    await client.disconnect();
    break;
  } catch (error) {
    if (attempt >= 100) {
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
await probe.wire.shutdown();
emit('ready', platformUuid);
