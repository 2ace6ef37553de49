// The Workspace flavour (manifests/workspace) run in Node against the real adapter, runtime emulator and
// ServiceNow emulator, with the Workspace API surface replaced by recording doubles (workspace_double.mjs).
//
// params: {address, broker, channelName, instance}. Emits "step" events as it goes; the result is a summary of
// what Home showed, what was launched or opened, and the notification, for pytest to check as well.
import assert from 'node:assert/strict';
import { connectAs, emit, run, within } from '../harness.mjs';
import { startWorkspace, adapterLaunchOptions } from '../../../manifests/workspace/workspace.mjs';
import { escapeMarkdown } from '../../../manifests/workspace/notifications.mjs';
import {
  ButtonStyle,
  CLITemplate,
  HomeDouble,
  NotificationsDouble,
  PlatformDouble,
} from './workspace_double.mjs';

const PLATFORM_ID = 'servicenow-workspace-test';

async function hook(instance, path, body) {
  const response = await fetch(`${instance}/__emulator/${path}`, {
    method: body === undefined ? 'DELETE' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `hook ${path}: ${response.status}`);
}

async function asAdmin(instance, method, path, body) {
  const response = await fetch(`${instance}${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return (await response.json()).result;
}

async function until(what, check) {
  return within(20000, (async () => {
    for (;;) {
      const value = await check();
      if (value) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })(), what);
}

run(async ({ address, broker, channelName, instance }) => {
  const fin = await connectAs(address, PLATFORM_ID);
  const home = new HomeDouble();
  const notifications = new NotificationsDouble();
  const platform = new PlatformDouble();
  const launched = [];
  const opened = [];
  const dispatched = [];
  let channel;
  const interop = fin.Interop.connectSync(broker, {});

  // The first token exchange fails, as an instance that is down would: Home must offer to connect again.
  await hook(instance, 'faults', { method: 'POST', path: '/oauth_token.do', status: 503, times: 1 });

  const started = await startWorkspace(
    {
      platform,
      home,
      templates: { CLITemplate, ButtonStyle },
      notifications,
      connectAdapter: async () => {
        channel = await fin.InterApplicationBus.Channel.connect(channelName);
        const dispatch = channel.dispatch.bind(channel);
        channel.dispatch = (action, payload) => {
          dispatched.push(action);
          return dispatch(action, payload);
        };
        return channel;
      },
      launchView: async (url) => launched.push(url),
      openUrl: async (url) => opened.push(url),
      sessionGroup: () => interop.joinSessionContextGroup('servicenow'),
    },
    { home: { debounceMs: 10 } },
    { platformId: PLATFORM_ID, title: 'ServiceNow' },
  );
  assert.equal(platform.inits.length, 1);
  assert.equal(home.provider.id, 'servicenow');
  assert.equal(notifications.platforms[0].notificationsPlatformOptions.id, PLATFORM_ID);
  assert.equal(notifications.listeners[0].type, 'notification-action');
  emit('step', 'registered');

  // 1. Sign-in failed: typing shows the Connect card with the error; its button signs in and removes it.
  const failed = await home.type('wire');
  const connectCard = failed.shown.get('servicenow-connect');
  assert.ok(connectCard, 'a Connect card');
  assert.equal(connectCard.template, CLITemplate.Custom);
  assert.match(connectCard.templateContent.data.error, /^AuthorizationError: /);
  assert.ok(!dispatched.includes('servicenow.search'));
  await home.dispatch('servicenow-connect', 'user-action', 'Connect');
  assert.equal(started.home.state.connected, true);
  assert.equal(home.shown.has('servicenow-connect'), false, 'the Connect card is revoked once signed in');
  emit('step', 'connected');

  // 2. Fewer than three characters: nothing is searched; "Se" offers the instance itself, which opens as a view.
  const searchesBefore = dispatched.filter((a) => a === 'servicenow.search').length;
  assert.deepEqual([...(await home.type('wi')).shown.keys()], []);
  assert.deepEqual([...(await home.type('Se')).shown.keys()], ['servicenow-app']);
  assert.equal(dispatched.filter((a) => a === 'servicenow.search').length, searchesBefore);
  await home.dispatch('servicenow-app', 'user-action', 'Open');
  assert.equal(launched.at(-1), `${instance}/`);

  // 3. A search: "Searching ..." first, then placeholders, and the type filter from the types found.
  const typed = await home.type('wire');
  assert.deepEqual(typed.events.slice(0, 2), ['open', 'respond:servicenow-searching']);
  assert.ok(typed.events.includes('revoke:servicenow-searching'));
  const placeholders = [...typed.shown.values()];
  assert.ok(placeholders.length > 0 && placeholders.length <= 50, `${placeholders.length} results`);
  assert.ok(placeholders.every((r) => r.template === CLITemplate.Loading));
  assert.ok(placeholders.some((r) => r.label.startsWith('Case CS')));
  const filter = home.context.filters[0];
  assert.equal(filter.id, 'servicenow');
  assert.ok(filter.options.some((o) => o.value === 'Case' && o.isSelected));
  assert.ok(!filter.options.some((o) => o.value === 'Incident'), 'no incidents for a CSM agent');

  // 4. Focus turns a placeholder into a card (fresh values through servicenow.request); Open launches a view.
  const first = placeholders.find((r) => r.label.startsWith('Case CS'));
  const requestsBefore = dispatched.filter((a) => a === 'servicenow.request').length;
  const caseCard = await home.dispatch(first.key, 'focus-change');
  assert.equal(dispatched.filter((a) => a === 'servicenow.request').length, requestsBefore + 1);
  assert.equal(caseCard.template, CLITemplate.Custom);
  const details = Object.fromEntries(caseCard.templateContent.data.details);
  assert.ok(details.State && details.Priority && details.Account, JSON.stringify(details));
  assert.deepEqual(caseCard.actions.map((a) => a.name), ['Open']);
  await home.dispatch(first.key, 'user-action', 'Open');
  assert.equal(launched.at(-1), first.data.hit.url);
  assert.ok(launched.at(-1).startsWith(`${instance}/sn_customerservice_case.do?sys_id=`));
  // A result claiming another site (Home hands back whatever data a result carries) opens nothing.
  const launchedBefore = launched.length;
  home.shown.set('forged', { ...caseCard, key: 'forged', data: { ...caseCard.data, url: 'https://evil.example/x', hit: undefined } });
  await home.dispatch('forged', 'user-action', 'Open');
  assert.equal(launched.length, launchedBefore);
  emit('step', 'case card');

  // 5. The type filter: only contacts; a contact's card calls and e-mails through the platform.
  const contacts = await channel.dispatch('servicenow.request', {
    apiEndpoint: '/api/now/table/customer_contact?sysparm_limit=1&sysparm_fields=name,phone,email',
  });
  const contact = contacts.data[0];
  const onlyContacts = await home.type(contact.name, [
    { id: 'servicenow', title: 'ServiceNow', options: [{ value: 'Contact', isSelected: true }, { value: 'Case', isSelected: false }] },
  ]);
  const people = [...onlyContacts.shown.values()];
  assert.deepEqual(home.context.filters[0].options, [
    { value: 'Contact', isSelected: true },
    { value: 'Case', isSelected: false },
  ]);
  assert.ok(people.length > 0 && people.every((r) => r.label === 'Contact'));
  const person = people.find((r) => r.title === contact.name);
  const contactCard = await home.dispatch(person.key, 'focus-change');
  assert.deepEqual(contactCard.actions.map((a) => a.name), ['Open', 'Call', 'E-mail']);
  await home.dispatch(person.key, 'user-action', 'Call');
  await home.dispatch(person.key, 'user-action', 'E-mail');
  assert.deepEqual(opened.slice(-2), [`tel:${contact.phone.replace(/[^+0-9]/g, '')}`, `mailto:${contact.email}`]);
  emit('step', 'contact card');

  // 6. The user types on: only the last keystroke's search is shown.
  const [older, newer] = await Promise.all([home.type('Boxe'), home.type('Boxeo')]);
  assert.deepEqual(older.returned.results, []);
  assert.ok([...newer.shown.values()].some((r) => r.title === 'Boxeo Financial'));

  // 7. A case assigned to the user by someone else becomes a notification; "Open case" opens it and puts the
  //    case context on the session group.
  const me = (await channel.dispatch('servicenow.connect', {})).currentUser;
  const seen = [];
  const listener = await connectAs(address, 'session-group-listener');
  const group = await listener.Interop.connectSync(broker, {}).joinSessionContextGroup('servicenow');
  await group.addContextHandler((context) => seen.push(context));
  const account = (await asAdmin(instance, 'GET', '/api/now/table/customer_account?sysparm_limit=1'))[0];
  const customer = await asAdmin(
    instance, 'GET', `/api/now/table/customer_contact/${account.primary_contact.value}?sysparm_fields=sys_id,user_name,name`,
  );
  const created = await asAdmin(instance, 'POST', '/api/now/table/sn_customerservice_case', {
    short_description: 'Card *blocked* [abroad](https://tracker.example)',
    assigned_to: me.sys_id,
    contact: customer.sys_id,
  });
  const notification = await within(20000, notifications.next((n) => n.title.includes(created.number)), 'notification');
  assert.equal(notification.title, `Case ${created.number} assigned to you`);
  assert.equal(notification.body, escapeMarkdown('Card *blocked* [abroad](https://tracker.example)'));
  assert.equal(notification.platform, PLATFORM_ID);
  assert.equal(notification.buttons[0].title, 'Open case');
  const ofCase = () => seen.filter((c) => c.id?.number === created.number).length;
  await until('the adapter broadcasts the case', () => ofCase() >= 1);
  const broadcasts = ofCase();
  notifications.click(notification, 0);
  await until('the clicked case on the session group', () => ofCase() > broadcasts);
  assert.equal(launched.at(-1), `${instance}/sn_customerservice_case.do?sys_id=${created.sys_id}`);
  assert.equal(seen.at(-1).type, 'servicenow.case');
  const forged = { ...notification, buttons: [{ ...notification.buttons[0], onClick: { ...notification.buttons[0].onClick, url: 'https://evil.example/case' } }] };
  const launchedNow = launched.length;
  notifications.click(forged, 0);
  // The control: the genuine button clicked right after takes the same path and is seen to the end (its
  // case reaches the session group); by then the forged click would have launched too, had it been obeyed.
  const broadcastsNow = ofCase();
  notifications.click(notification, 0);
  await until('the genuine click after the forged one', () => ofCase() > broadcastsNow);
  assert.deepEqual(
    launched.slice(launchedNow),
    [`${instance}/sn_customerservice_case.do?sys_id=${created.sys_id}`],
    'Open case opens only the instance',
  );
  emit('step', 'notification');

  // 7b. The case's customer comments (through the portal, as themselves): a second notification, the comment
  //     shown literally.
  const portal = await fetch(`${instance}/api/now/table/sn_customerservice_case/${created.sys_id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Basic ${Buffer.from(`${customer.user_name}:${customer.user_name}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ comments: 'Still declined ![pixel](https://tracker.example/p.png)' }),
  });
  assert.ok(portal.ok, `customer comment: ${portal.status}`);
  const comment = await within(
    20000,
    notifications.next((n) => n.title === `${customer.name} commented on ${created.number}`),
    'comment notification',
  );
  assert.equal(comment.body, escapeMarkdown('Still declined ![pixel](https://tracker.example/p.png)'));
  assert.ok(!comment.body.includes('!['), 'no image markdown survives');
  assert.equal(comment.category, 'Customer comment');
  emit('step', 'comment notification');

  // 8. The login expires for good (the refresh token too): the next search signs in again and still answers.
  await hook(instance, 'clock', { advance: 120 * 86400 });
  const connectsBefore = dispatched.filter((a) => a === 'servicenow.connect').length;
  const afterExpiry = await home.type('wire');
  assert.ok([...afterExpiry.shown.values()].some((r) => r.label.startsWith('Case CS')), 'results after re-connecting');
  assert.ok(dispatched.filter((a) => a === 'servicenow.connect').length > connectsBefore, 'connected again');
  emit('step', 'reconnected');

  assert.deepEqual(adapterLaunchOptions({ settings: { allowedApps: ['crm'] } }, PLATFORM_ID).extraArgs, [
    '--allow-app', 'crm', '--allow-app', PLATFORM_ID, '--case-notifications',
  ]);
  assert.deepEqual(adapterLaunchOptions({ caseNotifications: false }, PLATFORM_ID).extraArgs, []);

  return {
    results: placeholders.length,
    launched,
    opened,
    notification: { title: notification.title, body: notification.body },
    contexts: ofCase(),
  };
});
