// The node-adapter side of the interop scenarios: optionally a stock InteropBroker (fin.Interop.init, with
// the intent routing platform owners write), and always a node interop client in the same context group as
// our Python InteropClient. pytest drives the steps through stdin.
import { connectAs, emit, run } from '../harness.mjs';
import { instruction, settle } from './peer.mjs';

const HANDLER_PREFIX = 'intent-handler-';

async function startBroker(address, platformUuid) {
  const fin = await connectAs(address, platformUuid);
  await fin.Interop.init(platformUuid, async (InteropBroker) => {
    class RoutingBroker extends InteropBroker {
      constructor() {
        super();
        this.handlers = new Map();
      }

      async intentHandlerRegistered(payload, clientIdentity) {
        await super.intentHandlerRegistered(payload, clientIdentity);
        this.handlers.set(payload.handlerId.slice(HANDLER_PREFIX.length), clientIdentity);
      }

      async handleFiredIntent(intent) {
        const target = this.handlers.get(intent.name);
        if (!target) throw new Error('NoAppsFound');
        const provider = await this.getProvider();
        const result = await provider.dispatch(target, `${HANDLER_PREFIX}${intent.name}`, intent);
        return { source: { appId: target.uuid, instanceId: target.endpointId }, intent: intent.name, version: '2.0', result };
      }
    }
    return new RoutingBroker();
  });
}

run(async ({ address, platformUuid, startBroker: withBroker, groupId, context, intent }) => {
  if (withBroker) await startBroker(address, platformUuid);
  const fin = await connectAs(address, 'node-interop-app');
  // node-adapter's FDC3 2.0 getResult() refers to a global `fin` (docs/emulators/interop-broker.md).
  globalThis.fin = fin;
  const interop = fin.Interop.connectSync(platformUuid, {});
  await interop.joinContextGroup(groupId);
  const received = [];
  await interop.addContextHandler((ctx) => {
    received.push(ctx);
  });
  emit('ready');

  for (;;) {
    const message = await instruction();
    if (message.step === 'set-context') {
      emit('context-set', await settle(interop.setContext(context)));
    } else if (message.step === 'fire-intent') {
      emit('intent-fired', await settle(interop.fireIntent({ name: intent, context })));
    } else if (message.step === 'raise-intent-fdc3') {
      const fdc3 = interop.getFDC3Sync('2.0');
      emit('intent-raised', await settle((async () => {
        const resolution = await fdc3.raiseIntent(intent, context);
        return { source: resolution.source, result: await resolution.getResult() };
      })()));
    } else if (message.step === 'received') {
      emit('received', received);
    } else if (message.step === 'finish') {
      return { received };
    }
  }
});
