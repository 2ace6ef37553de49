/**
 * Platform provider: start the platform, then launch the ServiceNow adapter app asset.
 *
 * Settings come from the manifest's `customSettings.servicenowAdapter`:
 * `{alias, channelName, launchTimeoutMs, useToken, settings: {instanceUrl, clientId, allowedApps, ...}}`.
 */

import { argumentsFromSettings, launchAdapter } from "./launch-adapter.mjs";

/** The adapter settings to pass on, with this platform always allowed onto the adapter's channel. */
function adapterSettings(settings, platformUuid) {
  const allowedApps = settings.allowedApps ?? [];
  if (allowedApps.length === 0 || allowedApps.includes(platformUuid)) {
    return settings;
  }
  // The provider itself connects to the channel to learn that the adapter is up.
  return { ...settings, allowedApps: [...allowedApps, platformUuid] };
}

async function start() {
  await fin.Platform.init();
  const manifest = await fin.Application.getCurrentSync().getManifest();
  const config = manifest.customSettings?.servicenowAdapter ?? {};
  const platformUuid = fin.me.identity.uuid;
  try {
    const client = await launchAdapter(fin, {
      alias: config.alias,
      channelName: config.channelName,
      brokerUuid: platformUuid,
      extraArgs: argumentsFromSettings(adapterSettings(config.settings ?? {}, platformUuid)),
      timeoutMs: config.launchTimeoutMs,
      useToken: config.useToken,
    });
    client.onDisconnection(() => {
      console.error("servicenow-adapter: the adapter's channel closed");
    });
    console.info("servicenow-adapter: channel ready");
  } catch (error) {
    console.error(`servicenow-adapter: ${error.message}`);
  }
}

start();
