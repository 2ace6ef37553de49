// An app using the client library, type-checked with `tsc --strict` by the test suite
// (tests/conformance/dropin/test_client_types.py): what compiles here compiles in an app.
import {
  ApiRequestError,
  AuthTokenExpiredError,
  connect,
  onConnectionChanged,
  status,
  type ConnectionChangedEvent,
  type RecordChangedEvent,
  type ServiceNowConnection,
  type ServiceNowRestApiResponse,
} from '../index.js';

interface Case {
  sys_id: string;
  number: string;
  short_description: string;
}

const CASES = '/api/now/table/sn_customerservice_case';

export async function openCases(connection: ServiceNowConnection): Promise<Case[]> {
  const response: ServiceNowRestApiResponse<Case[]> = await connection.executeApiRequest<Case[]>(
    `${CASES}?sysparm_query=active=true&sysparm_limit=20`,
  );
  return response.data ?? [];
}

export async function main(): Promise<void> {
  const connection = await connect('https://acme.service-now.com', 'client-id', ['useraccount']);
  console.log(`signed in as ${connection.currentUser.user_name} on ${connection.instanceUrl}`);

  const stopRecords = connection.onRecordChanged((event: RecordChangedEvent) => {
    console.log(event.number, event.change, event.changedFields.join(', '));
  });
  const stopState = onConnectionChanged((event: ConnectionChangedEvent) => {
    if (event.state === 'expired') console.log('sign in again');
  });

  try {
    const created = await connection.executeApiRequest<Case>(CASES, 'POST', { short_description: 'Printer' });
    await connection.executeApiRequest(`${CASES}/${created.data?.sys_id ?? ''}`, 'patch', { priority: '2' }, true, {
      'X-Trace': 'example',
    });
    console.log((await openCases(connection)).map((c) => c.number));
  } catch (error) {
    if (error instanceof ApiRequestError) {
      console.log(error.status, error.message, error.data);
    } else if (error instanceof AuthTokenExpiredError) {
      console.log('expired', error.data);
    } else {
      throw error;
    }
  }

  const { connections, watching } = await status();
  for (const entry of connections) console.log(entry.instanceUrl, entry.state, entry.apps, watching);
  stopRecords();
  stopState();
  await connection.disconnect();
}
