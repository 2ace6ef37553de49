// What the client library offers beyond @openfin/servicenow, over the real adapter: typed record and
// connection events, status(), an explicit `fin` (configure) instead of the window global.
//
// params: {address, uuid, instanceUrl, clientId}
import { connectAs, deferred, run, within } from '../harness.mjs';

const CASES = '/api/now/table/sn_customerservice_case';

run(async ({ address, uuid, instanceUrl, clientId }) => {
  const fin = await connectAs(address, uuid);
  const library = await import('../../../clients/js/index.js');
  let withoutFin;
  try {
    await library.connect(instanceUrl, clientId);
  } catch (err) {
    withoutFin = { name: err.name, isApiError: err instanceof library.ApiError };
  }
  library.configure({ fin });
  const states = [];
  const disconnected = deferred();
  library.onConnectionChanged((event) => {
    states.push(event.state);
    if (event.state === 'disconnected') disconnected.resolve(event);
  });
  const connection = await library.connect(instanceUrl, clientId);
  const created = deferred();
  const stop = connection.onRecordChanged((event) => {
    if (event.change === 'created') created.resolve(event);
  });
  const status = await connection.status();
  const posted = await connection.executeApiRequest(CASES, 'POST', { short_description: 'Library extras' });
  const event = await within(15000, created.promise, 'servicenow.recordChanged');
  stop();
  await connection.executeApiRequest(`${CASES}/${posted.data.sys_id}`, 'DELETE');
  await connection.disconnect();
  const gone = await within(15000, disconnected.promise, 'connectionChanged disconnected');
  return {
    withoutFin,
    user: connection.currentUser.user_name,
    status,
    posted: { sys_id: posted.data.sys_id, number: posted.data.number },
    event: { sys_id: event.sys_id, number: event.number, table: event.table, contextType: event.context.type },
    states,
    gone,
  };
});
