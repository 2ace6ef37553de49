// The runtime calls @openfin/servicenow makes around its auth window, made with node-adapter against the
// runtime emulator: a named child window by fin.Window.create, getChildWindows, getInfo, url-changed,
// setBounds/getBounds, bounds-changed, System.getMonitorInfo, registerUsage, close(true) and closing.
import { connectAs, deferred, run, within } from '../harness.mjs';
import { installBrowserEnvironment } from './browser_env.mjs';

run(async ({ address, url }) => {
  const fin = await connectAs(address, 'window-owner');
  const before = await fin.Application.getCurrentSync().getChildWindows();
  let refused;
  try {
    await fin.Window.create({ name: 'popup', url });
  } catch (err) {
    refused = err.message;
  }
  installBrowserEnvironment(fin);
  const win = await within(10000, fin.Window.create({ name: 'popup', url, autoShow: false, defaultWidth: 550,
    defaultHeight: 600, defaultCentered: true }), 'Window.create');
  const children = await fin.Application.getCurrentSync().getChildWindows();
  const info = await win.getInfo();
  const monitor = await fin.System.getMonitorInfo();
  const initialBounds = await win.getBounds();
  const moved = deferred();
  await win.addListener('bounds-changed', (event) => moved.resolve(event));
  await win.setBounds({ left: 100, top: 50 });
  const boundsChanged = await within(5000, moved.promise, 'bounds-changed');
  const bounds = await win.getBounds();
  const showing = await win.isShowing();
  const closing = deferred();
  await win.addListener('closing', () => closing.resolve(true));
  await win.close(true);
  const closed = await within(5000, closing.promise, 'closing');
  const after = await fin.Application.getCurrentSync().getChildWindows();
  let usage = 'registered';
  await fin.System.registerUsage({ type: 'integration-feature', data: { apiVersion: '1', componentName: 'x' } })
    .catch((err) => { usage = err.message; });
  return {
    refused,
    before: before.map((w) => w.identity),
    children: children.map((w) => w.identity),
    identity: win.identity,
    url: info.url,
    primary: monitor.primaryMonitor.availableRect,
    initialBounds,
    boundsChanged: { left: boundsChanged.left, top: boundsChanged.top, changeType: boundsChanged.changeType },
    bounds,
    showing,
    closed,
    after: after.map((w) => w.identity),
    usage,
  };
});
