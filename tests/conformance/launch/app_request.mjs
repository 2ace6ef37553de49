// A second app on the desktop: connect to the adapter's channel, log in to ServiceNow through it, read one case.
import { connectAs, run, within } from '../harness.mjs';

run(async ({ address, uuid, channelName, instanceUrl, clientId }) => {
  const fin = await connectAs(address, uuid);
  const channel = await within(10000, fin.InterApplicationBus.Channel.connect(channelName, { wait: false }), 'channel');
  const connected = await within(20000, channel.dispatch('servicenow.connect', { instanceUrl, clientId }), 'connect');
  const response = await within(
    20000,
    channel.dispatch('servicenow.request', {
      apiEndpoint: '/api/now/table/sn_customerservice_case?sysparm_limit=1&sysparm_fields=number',
    }),
    'request',
  );
  return { connected, response };
});
