// @ts-check
/**
 * Workspace platform provider: a Workspace platform with Home and notifications over the shared ServiceNow
 * adapter. It imports the Workspace packages, so it is bundled for the platform (docs/deployment.md, section
 * 10); workspace.mjs holds the logic.
 */

import { ButtonStyle, CLITemplate, Home } from "@openfin/workspace";
import * as Notifications from "@openfin/workspace/notifications";
import { getCurrentSync, init } from "@openfin/workspace-platform";
import { launchAdapter } from "../provider/launch-adapter.mjs";
import { adapterLaunchOptions, startWorkspace } from "./workspace.mjs";

async function start() {
  // customSettings and platform are the manifest's own keys, which the Manifest type does not list.
  const manifest = /** @type {any} */ (await fin.Application.getCurrentSync().getManifest());
  /** @type {import('./workspace.mjs').WorkspaceConfig} */
  const config = manifest.customSettings?.servicenowAdapter ?? {};
  const platformId = fin.me.identity.uuid;
  await startWorkspace(
    {
      platform: { init },
      home: Home,
      templates: { CLITemplate, ButtonStyle },
      notifications: Notifications,
      connectAdapter: () => launchAdapter(fin, adapterLaunchOptions(config, platformId)),
      launchView: (url) => getCurrentSync().createView({ url }),
      // Through the platform: its manifest's permissions decide which protocols may open (tel:, mailto:).
      openUrl: (url) => fin.System.openUrlWithBrowser(url),
      sessionGroup: () => fin.me.interop.joinSessionContextGroup("servicenow"),
      log: (message, detail) => console.info(`servicenow-workspace: ${message}`, detail ?? ""),
    },
    config,
    { platformId, title: manifest.platform?.name ?? "ServiceNow", icon: manifest.platform?.icon },
  );
}

start().catch((error) => console.error(`servicenow-workspace: ${error?.message ?? error}`));
