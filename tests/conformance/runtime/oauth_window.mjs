// What @openfin/servicenow does in-runtime, done by an external node-adapter connection: open the authorize
// URL in an application window, watch url-changed until the redirect URI, read code and state, close it.
import { connectAs, deferred, emit, run, within } from '../harness.mjs';

run(async ({ address, authorizeUrl, redirectUri }) => {
  const fin = await connectAs(address, 'servicenow-app');
  const uuid = 'oauth-api-auth-flow';
  const app = await fin.Application.create({ uuid, name: uuid, url: authorizeUrl, autoShow: false });
  const win = fin.Window.wrapSync({ uuid, name: uuid });
  const redirected = deferred();
  const hops = [];
  await win.on('url-changed', (event) => {
    hops.push(event.url.split('?')[0]);
    if (event.url.toLowerCase().startsWith(redirectUri.toLowerCase())) {
      redirected.resolve(new URL(event.url));
    }
  });
  await app.run();
  emit('opened', uuid);
  const landing = await within(20000, redirected.promise, 'the redirect URI');
  await win.close(true);
  return { code: landing.searchParams.get('code'), state: landing.searchParams.get('state'), hops };
});
