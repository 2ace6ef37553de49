// Interop flows as node-adapter users write them, against whatever broker serves interop-broker-<broker>.
// Every scenario uses its own clients and its own context group and records what the clients observed; the
// result is {scenario: observations} for pytest to assert on. A scenario that throws records {error}, so one
// broken flow fails its own tests only. Every wait is bounded.
//
// params: {address, broker, only?: scenario name}
import { connectAs, params, run } from '../harness.mjs';

const { address, broker: brokerName, only } = params();
const RUN = `${process.pid}`;
const WAIT_MS = 5000;
const fins = [];

const INSTRUMENT = { type: 'fdc3.instrument', id: { ticker: 'AAPL' } };
const CONTACT = { type: 'fdc3.contact', id: { email: 'beth.anglin@example.com' } };
const ORGANIZATION = { type: 'fdc3.organization', id: { LEI: '5493001KJTIIGC8Y1R12' } };

async function client(label, interopConfig) {
  const uuid = `${label}-${RUN}`;
  const fin = await connectAs(address, uuid);
  fins.push(fin);
  return { uuid, fin, interop: fin.Interop.connectSync(brokerName, interopConfig) };
}

async function waitFor(predicate, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error.message;
  }
}

// The chain of causes' messages: a broker's refusal wraps the handler's error.
async function failureCause(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return [error.cause?.message, error.cause?.cause?.message].filter(Boolean).join(' <- ') || null;
  }
}

const show = (value) => (value === undefined ? '<undefined>' : value);

async function recorder(interop, contextType) {
  const seen = [];
  const subscription = await interop.addContextHandler((context) => {
    seen.push(context);
  }, contextType);
  return { seen, subscription };
}

const scenarios = {
  async contextGroups() {
    const a = await client('groups');
    return {
      groups: await a.interop.getContextGroups(),
      purple: await a.interop.getInfoForContextGroup('purple'),
      unknown: show(await a.interop.getInfoForContextGroup('mauve')),
    };
  },

  async broadcast() {
    const [a, b, c] = [await client('bc-a'), await client('bc-b'), await client('bc-c')];
    await a.interop.joinContextGroup('green');
    await b.interop.joinContextGroup('green');
    await c.interop.joinContextGroup('orange');
    const aAll = await recorder(a.interop);
    const bAll = await recorder(b.interop);
    const bContact = await recorder(b.interop, 'fdc3.contact');
    const bInstrument = await recorder(b.interop, 'fdc3.instrument');
    const cAll = await recorder(c.interop);

    await a.interop.setContext(INSTRUMENT);
    await a.interop.setContext(ORGANIZATION);
    await a.interop.setContext(CONTACT);
    await waitFor(
      () => aAll.seen.length === 3 && bAll.seen.length === 3 && bContact.seen.length === 1 && bInstrument.seen.length === 1,
      'green',
    );
    // c is in another group: its own broadcast is the last thing it can receive, in order.
    await c.interop.setContext(CONTACT);
    await waitFor(() => cAll.seen.length >= 1, 'orange');

    const members = await a.interop.getAllClientsInContextGroup('green');
    return {
      setterReceived: aAll.seen,
      untypedReceived: bAll.seen,
      contactHandlerReceived: bContact.seen,
      instrumentHandlerReceived: bInstrument.seen,
      otherGroupReceived: cAll.seen,
      greenMembers: members.map((m) => m.uuid).sort(),
      greenMembersHaveEndpointIds: members.every((m) => typeof m.endpointId === 'string'),
      expected: { a: a.uuid, b: b.uuid, c: c.uuid },
      currentContext: await a.interop.getCurrentContext(),
      currentInstrument: await a.interop.getCurrentContext('fdc3.instrument'),
      currentUnknownType: show(await a.interop.getCurrentContext('fdc3.nothing')),
    };
  },

  async replayOnJoin() {
    const setter = await client('rp-setter');
    await setter.interop.joinContextGroup('red');
    await setter.interop.setContext(INSTRUMENT);
    await setter.interop.setContext(CONTACT);

    const joiner = await client('rp-joiner');
    const untyped = await recorder(joiner.interop);
    const typed = await recorder(joiner.interop, 'fdc3.contact');
    const beforeJoin = untyped.seen.length + typed.seen.length;
    await joiner.interop.joinContextGroup('red');
    await waitFor(() => untyped.seen.length === 2 && typed.seen.length === 1, 'replay on join');

    const late = await client('rp-late', { currentContextGroup: 'red' });
    const lateTyped = await recorder(late.interop, 'fdc3.instrument');
    await waitFor(() => lateTyped.seen.length === 1, 'replay on registration');

    return {
      beforeJoin,
      untypedReplay: untyped.seen,
      typedReplay: typed.seen,
      connectPayloadReplay: lateTyped.seen,
      redMembers: (await setter.interop.getAllClientsInContextGroup('red')).map((m) => m.uuid).sort(),
      expected: [setter.uuid, joiner.uuid, late.uuid].sort(),
    };
  },

  async leaveGroup() {
    const [a, b] = [await client('lv-a'), await client('lv-b')];
    await a.interop.joinContextGroup('pink');
    await b.interop.joinContextGroup('pink');
    const before = (await a.interop.getAllClientsInContextGroup('pink')).map((m) => m.uuid).sort();
    await b.interop.removeFromContextGroup();
    return {
      before,
      after: (await a.interop.getAllClientsInContextGroup('pink')).map((m) => m.uuid).sort(),
      expected: { a: a.uuid, b: b.uuid },
      currentContextAfterLeaving: await failure(b.interop.getCurrentContext()),
      setContextAfterLeaving: await failure(b.interop.setContext(INSTRUMENT)),
    };
  },

  async errors() {
    const a = await client('err');
    const noGroup = await failure(a.interop.setContext(INSTRUMENT));
    const unknownGroup = await failure(a.interop.joinContextGroup('mauve'));
    await a.interop.joinContextGroup('yellow');
    return {
      noGroup,
      unknownGroup,
      noType: await failure(a.interop.setContext({ id: { ticker: 'AAPL' } })),
    };
  },

  async sessionContextGroups() {
    const id = `orders-${RUN}`;
    const [a, b, c] = [await client('sg-a'), await client('sg-b'), await client('sg-c')];
    const aGroup = await a.interop.joinSessionContextGroup(id);
    const bGroup = await b.interop.joinSessionContextGroup(id);
    const bAll = [];
    const bContacts = [];
    await bGroup.addContextHandler((context) => bAll.push(context));
    await bGroup.addContextHandler((context) => bContacts.push(context), 'fdc3.contact');
    await aGroup.setContext(INSTRUMENT);
    await waitFor(() => bAll.length === 1, 'session broadcast');
    await aGroup.setContext(CONTACT);
    await waitFor(() => bAll.length === 2 && bContacts.length === 1, 'session broadcast of a contact');

    const cGroup = await c.interop.joinSessionContextGroup(id);
    const cInstruments = [];
    await cGroup.addContextHandler((context) => cInstruments.push(context), 'fdc3.instrument');
    const replayedBeforeAddResolved = [...cInstruments];
    await aGroup.setContext(INSTRUMENT);
    await waitFor(() => cInstruments.length === 2, 'second instrument');

    return {
      untypedReceived: bAll,
      typedReceived: bContacts,
      replayedBeforeAddResolved,
      current: await cGroup.getCurrentContext(),
      currentContact: await cGroup.getCurrentContext('fdc3.contact'),
    };
  },

  async intents() {
    const [handler, raiser] = [await client('in-handler'), await client('in-raiser')];
    const received = [];
    await handler.interop.registerIntentHandler((intent) => {
      received.push(intent);
      return { type: 'fdc3.chart', id: { ticker: intent.context.id.ticker } };
    }, 'ViewChart');
    await handler.interop.registerIntentHandler(() => {
      throw new Error('chart service down');
    }, 'RefreshChart');
    const fired = { name: 'ViewChart', context: INSTRUMENT, metadata: { requestId: 'r-1' } };
    const resolution = await raiser.interop.fireIntent(fired);
    const handlerReceived = [...received];
    return {
      resolution,
      handlerReceived,
      fired,
      handlerUuid: handler.uuid,
      unhandled: await failure(raiser.interop.fireIntent({ name: 'NobodyHandlesThis', context: INSTRUMENT })),
      handlerFailed: await failure(raiser.interop.fireIntent({ name: 'RefreshChart', context: INSTRUMENT })),
      handlerFailedCause: await failureCause(raiser.interop.fireIntent({ name: 'RefreshChart', context: INSTRUMENT })),
      afterFailure: (await raiser.interop.fireIntent({ name: 'ViewChart', context: INSTRUMENT })).result,
    };
  },

  async intentsByContext() {
    const [cases, charts, raiser] = [await client('ic-cases'), await client('ic-charts'), await client('ic-raiser')];
    const name = (intent) => `${intent}-${RUN}`;
    const seen = [];
    // `contexts` rides in the registration options, as an App Directory entry would list them.
    await cases.interop.registerIntentHandler((intent) => {
      seen.push(intent.context);
      return { type: 'fdc3.nothing' };
    }, name('ViewInteractions'), { contexts: ['fdc3.contact', 'fdc3.organization'] });
    await cases.interop.registerIntentHandler(() => ({ type: 'fdc3.nothing' }), name('CreateInteraction'), {
      contexts: ['fdc3.interaction'],
    });
    await charts.interop.registerIntentHandler(() => ({ type: 'fdc3.nothing' }), name('ViewAnything'));
    const fdc3 = raiser.interop.getFDC3Sync('2.0');
    const appsOf = (appIntent) => appIntent.apps.map((app) => app.appId);
    const ours = (appIntents) =>
      appIntents
        .filter((i) => i.intent.name.endsWith(`-${RUN}`))
        .map((i) => ({ intent: i.intent.name.replace(`-${RUN}`, ''), apps: appsOf(i).map((a) => a.replace(`-${RUN}`, '')) }));
    return {
      findWithContact: appsOf(await fdc3.findIntent(name('ViewInteractions'), CONTACT)),
      findWithInstrument: await failure(fdc3.findIntent(name('ViewInteractions'), INSTRUMENT)),
      findWithoutContext: appsOf(await fdc3.findIntent(name('ViewInteractions'))),
      byContact: ours(await fdc3.findIntentsByContext(CONTACT)),
      byInstrument: ours(await fdc3.findIntentsByContext(INSTRUMENT)),
      byNothing: ours(await raiser.interop.getInfoForIntentsByContext({ type: 'fdc3.nothing' })),
      malformed: await failure(fdc3.findIntentsByContext({ id: { ticker: 'AAPL' } })),
      raiseUndeclared: await failure(raiser.interop.fireIntent({ name: name('ViewInteractions'), context: INSTRUMENT })),
      raiseDeclared: (await raiser.interop.fireIntent({ name: name('ViewInteractions'), context: CONTACT })).intent.replace(`-${RUN}`, ''),
      handlerSaw: seen,
      expected: { cases: cases.uuid, charts: charts.uuid },
    };
  },

  async disconnectCleanup() {
    const [stayer, leaver, raiser] = [await client('dc-stayer'), await client('dc-leaver'), await client('dc-raiser')];
    await stayer.interop.joinContextGroup('yellow');
    await leaver.interop.joinContextGroup('yellow');
    await leaver.interop.registerIntentHandler(() => ({ type: 'fdc3.nothing' }), 'LeaverIntent');
    const members = async () => (await stayer.interop.getAllClientsInContextGroup('yellow')).map((m) => m.uuid);
    const before = await members();
    const beforeIntent = (await raiser.interop.fireIntent({ name: 'LeaverIntent', context: INSTRUMENT })).intent;
    await leaver.fin.wire.shutdown();
    let after = await members();
    const deadline = Date.now() + WAIT_MS;
    while (after.includes(leaver.uuid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await members();
    }
    return {
      before: before.filter((uuid) => uuid.startsWith('dc-')).sort(),
      after: after.filter((uuid) => uuid.startsWith('dc-')).sort(),
      expected: { stayer: stayer.uuid, leaver: leaver.uuid },
      beforeIntent,
      afterIntent: await failure(raiser.interop.fireIntent({ name: 'LeaverIntent', context: INSTRUMENT })),
    };
  },

  async fdc3v2() {
    const [handler, raiser] = [await client('f2-handler'), await client('f2-raiser')];
    // node-adapter's getIntentResolution reads a global `fin` (docs/emulators/interop-broker.md): without it getResult() throws.
    globalThis.fin = raiser.fin;
    const handlerFdc3 = handler.interop.getFDC3Sync('2.0');
    const raiserFdc3 = raiser.interop.getFDC3Sync('2.0');
    const listened = [];
    await handlerFdc3.addIntentListener('ViewQuote', async (context) => {
      listened.push(context);
      return { type: 'fdc3.quote', id: context.id, price: 187.5 };
    });
    const found = await raiserFdc3.findIntent('ViewQuote');
    const resolution = await raiserFdc3.raiseIntent('ViewQuote', INSTRUMENT);
    const result = await resolution.getResult();

    const channelSeen = [];
    await handlerFdc3.joinUserChannel('purple');
    await raiserFdc3.joinUserChannel('purple');
    await handlerFdc3.addContextListener('fdc3.contact', (context) => channelSeen.push(context));
    await raiserFdc3.broadcast(CONTACT);
    await waitFor(() => channelSeen.length === 1, 'fdc3 broadcast');

    return {
      source: resolution.source,
      intent: resolution.intent,
      result,
      listenerReceived: listened,
      handlerUuid: handler.uuid,
      unhandled: await failure(raiserFdc3.raiseIntent('NobodyHandlesThis', INSTRUMENT)),
      found,
      notFound: await failure(raiserFdc3.findIntent('NobodyHandlesThis')),
      broadcastReceived: channelSeen,
    };
  },
};

await run(async () => {
  const observations = {};
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (only && only !== name) {
      continue;
    }
    try {
      observations[name] = await scenario();
    } catch (error) {
      observations[name] = { error: `${error.name}: ${error.message}` };
    }
  }
  return observations;
});
