// The stock OpenFin InteropBroker (fin.Interop.init) in a node process, as a platform provider runs it.
// Its overrides are written the way platform owners write them: handleFiredIntent dispatches the intent to the
// client that registered intent-handler-<name> and returns {source, intent, version, result}, and a handler's
// refusal becomes FDC3's ResultError "IntentHandlerRejected" with the handler's error as its cause;
// handleInfoForIntent lists those clients as an FDC3 AppIntent and handleInfoForIntentsByContext every
// AppIntent taking a context. A registration may name the context types its handler takes (`contexts`, what
// an App Directory would say); a handler that names none takes any. This is the peer our built-in broker is
// compared against.
//
// With routing "setIntentTarget" it routes as the stock broker's own queueing does instead: handleFiredIntent
// hands the intent to setIntentTarget (which delivers it when the handler is ready, and marks the handler not
// ready when a delivery is refused) and returns {source, intent, version}; FDC3 2.0 raisers get the result
// from getResult().
//
// params: {address, platformUuid, routing?: "dispatch" | "setIntentTarget"}. Emits the event "ready" once the
// broker channel accepts clients, then runs until it is killed.
import { connectAs, emit, params } from '../harness.mjs';

const { address, platformUuid, routing = 'dispatch' } = params();
const HANDLER_PREFIX = 'intent-handler-';

const fin = await connectAs(address, platformUuid);

await fin.Interop.init(platformUuid, async (InteropBroker) => {
  class RoutingBroker extends InteropBroker {
    constructor() {
      super();
      this.intentHandlers = new Map();
    }

    async intentHandlerRegistered(payload, clientIdentity) {
      await super.intentHandlerRegistered(payload, clientIdentity);
      const name = payload.handlerId.slice(HANDLER_PREFIX.length);
      const others = (this.intentHandlers.get(name) ?? []).filter(
        (h) => h.identity.endpointId !== clientIdentity.endpointId,
      );
      const contexts = Array.isArray(payload.contexts) && payload.contexts.length > 0 ? payload.contexts : null;
      const handler = { identity: clientIdentity, version: payload.fdc3Version ?? '2.0', contexts };
      this.intentHandlers.set(name, [...others, handler]);
    }

    handlersFor(name, context) {
      const type = context && typeof context.type === 'string' ? context.type : null;
      return (this.intentHandlers.get(name) ?? []).filter((h) => !h.contexts || !type || h.contexts.includes(type));
    }

    appIntent(name, handlers) {
      const apps = handlers.map(({ identity }) => ({ appId: identity.uuid, instanceId: identity.endpointId }));
      return { intent: { name, displayName: name }, apps };
    }

    async clientDisconnected(clientIdentity) {
      for (const [name, handlers] of this.intentHandlers) {
        this.intentHandlers.set(
          name,
          handlers.filter((h) => h.identity.endpointId !== clientIdentity.endpointId),
        );
      }
    }

    async handleInfoForIntent({ name, context }) {
      const handlers = this.handlersFor(name, context);
      if (handlers.length === 0) {
        throw new Error('NoAppsFound');
      }
      return this.appIntent(name, handlers);
    }

    // FDC3 2.0 sends the context, or {context, metadata: {resultType}}; the legacy call the context.
    async handleInfoForIntentsByContext(payload) {
      const context = typeof payload?.type === 'string' ? payload : payload?.context;
      if (!context || typeof context.type !== 'string' || !context.type) {
        throw new Error('MalformedContext');
      }
      const found = [...this.intentHandlers.keys()]
        .sort()
        .map((name) => [name, this.handlersFor(name, context)])
        .filter(([, handlers]) => handlers.length > 0)
        .map(([name, handlers]) => this.appIntent(name, handlers));
      if (found.length === 0) {
        throw new Error('NoAppsFound');
      }
      return found;
    }

    async handleFiredIntent(intent) {
      const handlers = this.handlersFor(intent.name, intent.context);
      if (handlers.length === 0) {
        throw new Error('NoAppsFound');
      }
      const { identity, version } = handlers[handlers.length - 1];
      const source = { appId: identity.uuid, instanceId: identity.endpointId };
      if (routing === 'setIntentTarget') {
        await this.setIntentTarget(intent, identity);
        return { source, intent: intent.name, version };
      }
      const provider = await this.getProvider();
      let result;
      try {
        result = await provider.dispatch(identity, `${HANDLER_PREFIX}${intent.name}`, intent);
      } catch (error) {
        throw new Error('IntentHandlerRejected', { cause: error });
      }
      return { source, intent: intent.name, version, result };
    }
  }
  return new RoutingBroker();
});

// Interop.init resolves before the channel exists; a client connecting with wait:false proves it is up.
const probe = await connectAs(address, `${platformUuid}-probe`);
const channelName = `interop-broker-${platformUuid}`;
for (let attempt = 0; ; attempt += 1) {
  try {
    const client = await probe.InterApplicationBus.Channel.connect(channelName, { wait: false });
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

emit('ready', channelName);
