// Open an application whose main window loads `url`, record the window's url-changed events until it lands
// on a URL starting with `until`, then close it and record the closing events.
import { connectAs, deferred, run, within } from '../harness.mjs';

run(async ({ address, url, until }) => {
  const fin = await connectAs(address, 'opener');
  const uuid = 'oauth-popup';
  const app = await fin.Application.create({ uuid, name: uuid, url, autoShow: false });
  const win = fin.Window.wrapSync({ uuid, name: uuid });
  const urlChanges = [];
  const landed = deferred();
  await win.on('url-changed', (event) => {
    urlChanges.push({ url: event.url, httpResponseCode: event.httpResponseCode, isInPage: event.isInPage });
    if (event.url.startsWith(until)) {
      landed.resolve();
    }
  });
  const closeEvents = [];
  const appClosed = deferred();
  await win.on('closing', (event) => closeEvents.push(`window ${event.type}`));
  await win.on('closed', (event) => closeEvents.push(`window ${event.type}`));
  await app.on('closed', (event) => {
    closeEvents.push(`application ${event.type}`);
    appClosed.resolve();
  });
  await app.run();
  await within(10000, landed.promise, `a url-changed to ${until}`);
  const info = await win.getInfo();
  await win.close(true);
  await within(5000, appClosed.promise, 'application closed');
  return { urlChanges, infoUrl: info.url, closeEvents };
});
