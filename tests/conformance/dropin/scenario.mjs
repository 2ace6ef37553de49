// The operations of an app written once against the @openfin/servicenow API. `api` is a module with that
// API: the official package itself, or the adapter's client library (clients/js); only the import differs.
// Every operation's outcome is recorded with what reached the instance (the ServiceNow emulator's
// /__emulator/wire hook), for pytest to compare the two runs.

const CASES = '/api/now/table/sn_customerservice_case';
const ACCESS_TOKEN_LIFESPAN = 1800;
const REFRESH_TOKEN_LIFESPAN = 8_640_000;

function errorShape(api, err) {
  return {
    name: err?.name,
    className: err?.constructor?.name,
    message: err?.message,
    status: err?.status ?? null,
    data: err?.data ?? null,
    isApiError: err instanceof api.ApiError,
    isApiRequestError: err instanceof api.ApiRequestError,
    isAuthTokenExpiredError: err instanceof api.AuthTokenExpiredError,
    isParameterError: err instanceof api.ParameterError,
  };
}

// `settled(logins)` resolves once the client's own background requests after `logins` logins have reached the
// instance (the adapter's first read of its watched tables); the clock must not move under them.
export async function runScenario(api, { instanceUrl, clientId, settled = async () => {} }) {
  const results = [];
  const created = [];
  const hook = async (path, init) => (await fetch(`${instanceUrl}/__emulator/${path}`, init)).json();
  const advanceClock = (seconds) =>
    hook('clock', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ advance: seconds }) });
  const op = async (name, work) => {
    await hook('wire', { method: 'DELETE' });
    let outcome;
    try {
      outcome = { ok: true, value: (await work()) ?? null };
    } catch (err) {
      outcome = { ok: false, error: errorShape(api, err) };
    }
    const { requests } = await hook('wire');
    results.push({ name, outcome, wire: requests });
    return outcome;
  };
  const request = (...args) => connection.executeApiRequest(...args);

  let connection;
  await op('connect with an invalid instance URL', () => api.connect('not a url', clientId));
  await op('connect without a client id', () => api.connect(instanceUrl, ''));
  await op('connect', async () => {
    // An instance URL with a path, as users copy it from the browser: only its origin matters.
    connection = await api.connect(`${instanceUrl}/now/nav/ui/home`, clientId);
    const { instanceUrl: url, clientId: id, currentUser } = connection;
    return { instanceUrl: url, clientId: id, currentUser, methods: ['executeApiRequest', 'disconnect'].filter((m) => typeof connection[m] === 'function') };
  });
  const list = await op('GET a list with a query, a limit and display values', () =>
    request(`${CASES}?sysparm_query=active%3Dtrue%5EORDERBYnumber&sysparm_limit=3&sysparm_display_value=true`));
  const first = list.value.data[0].sys_id;
  await op('GET one record', () => request(`${CASES}/${first}`));
  await op('GET an endpoint without a leading slash', () =>
    request('api/now/table/sn_customerservice_case?sysparm_limit=1&sysparm_fields=number,short_description'));
  await op('GET with custom headers', () =>
    request(`${CASES}/${first}?sysparm_fields=number`, 'GET', undefined, false, { 'X-Dropin-Trace': 'abc-123', Accept: 'application/json' }));
  await op('GET with a lower-case method', () => request(`${CASES}/${first}?sysparm_fields=number`, 'get'));

  const posted = await op('POST a record', () =>
    request(CASES, 'POST', { short_description: 'Drop-in check', priority: '3', account: '' }));
  const mine = posted.value?.data?.sys_id;
  if (mine) created.push({ sys_id: mine, number: posted.value.data.number });
  await op('PATCH the record', () => request(`${CASES}/${mine}`, 'PATCH', { short_description: 'Drop-in patched' }));
  await op('PUT the record', () => request(`${CASES}/${mine}`, 'PUT', { short_description: 'Drop-in put', priority: '2' }));
  await op('PATCH with suppressResponseBody', () =>
    request(`${CASES}/${mine}`, 'PATCH', { short_description: 'Drop-in quiet patch' }, true));
  await op('POST with suppressResponseBody', () =>
    request(CASES, 'POST', { short_description: 'Drop-in quiet post' }, true));
  const quiet = await op('GET the quietly posted record', () =>
    request(`${CASES}?sysparm_query=short_description%3DDrop-in%20quiet%20post&sysparm_fields=sys_id,number`));
  for (const record of quiet.value?.data ?? []) created.push(record);
  await op('PATCH with a lower-case method', () => request(`${CASES}/${mine}`, 'patch', { short_description: 'lower' }));
  await op('GET with data', () => request(`${CASES}/${mine}`, 'GET', { a: 1 }));
  for (const record of quiet.value?.data ?? []) {
    await op('DELETE the quietly posted record', () => request(`${CASES}/${record.sys_id}`, 'DELETE'));
  }
  await op('DELETE the record', () => request(`${CASES}/${mine}`, 'DELETE'));
  await op('404: GET the deleted record', () => request(`${CASES}/${mine}`));
  await op('400: POST malformed JSON', () => request(CASES, 'POST', '{"short_description": '));
  await op('400: an unknown table', () => request('/api/now/table/no_such_table?sysparm_limit=1'));
  await op('an invalid query term', () => request(`${CASES}?sysparm_query=no_such_field%3D1&sysparm_limit=2&sysparm_fields=number`));
  const terms = (count) => Array.from({ length: count }, (_, i) => `number=CS9${String(i).padStart(6, '0')}`).join('^OR');
  await op('a long query (about 8 000 characters)', () =>
    request(`${CASES}?sysparm_fields=number&sysparm_query=${terms(440)}`));
  await op('a query over 16 384 characters', () =>
    request(`${CASES}?sysparm_fields=number&sysparm_query=${terms(940)}`));

  await op('an expired access token is refreshed', async () => {
    await settled(1);
    await advanceClock(ACCESS_TOKEN_LIFESPAN + 1);
    return request(`${CASES}/${first}?sysparm_fields=number`);
  });
  await op('a refused refresh', async () => {
    await advanceClock(REFRESH_TOKEN_LIFESPAN + 1);
    return request(`${CASES}/${first}?sysparm_fields=number`);
  });
  await op('disconnect after the refused refresh', () => connection.disconnect());
  await op('connect again', async () => {
    connection = await api.connect(instanceUrl, clientId);
    return { currentUser: connection.currentUser.user_name };
  });
  await op('GET after connecting again', () => request(`${CASES}/${first}?sysparm_fields=number`));
  await op('disconnect revokes the tokens', async () => {
    await connection.disconnect();
    return hook('tokens');
  });
  await op('a request after disconnect', () => request(`${CASES}/${first}?sysparm_fields=number`));
  return { results, created };
}
