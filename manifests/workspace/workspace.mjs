// @ts-check
/**
 * The Workspace flavour's start-up, with every Workspace and platform API passed in (provider.mjs passes the
 * real ones; tests pass doubles): initialise the Workspace platform, launch the adapter as the plain platform
 * does (with case notifications on unless the manifest turns them off), register the notifications platform
 * and the Home provider, and sign in.
 */

import { argumentsFromSettings } from "../provider/launch-adapter.mjs";
import { createServiceNowHome } from "./home.mjs";
import { caseNotification, onNotificationAction } from "./notifications.mjs";

/** @typedef {import('@openfin/workspace').HomeProvider} HomeProvider */
/** @typedef {import('@openfin/workspace').HomeRegistration} HomeRegistration */
/** @typedef {import('@openfin/workspace/notifications').NotificationOptions} NotificationOptions */
/** @typedef {import('@openfin/workspace/notifications').NotificationActionEvent} NotificationActionEvent */
/** @typedef {import('@openfin/workspace/notifications').NotificationsRegisterOptions} NotificationsRegisterOptions */
/** @typedef {import('@openfin/workspace-platform').WorkspacePlatformInitConfig} WorkspacePlatformInitConfig */
/** @typedef {import('./home.mjs').HomeSettings} HomeSettings */
/** @typedef {import('../../docs/typescript/servicenow-adapter').CaseNotificationEvent} CaseNotificationEvent */

/**
 * @typedef {object} ChannelClient What the flavour uses of the adapter's channel client.
 * @property {(action: string, payload?: unknown) => Promise<any>} dispatch
 * @property {(action: string, handler: (payload: any) => unknown) => unknown} register
 */

/**
 * @typedef {object} WorkspaceApi
 * @property {{init(config: WorkspacePlatformInitConfig): Promise<unknown>}} platform `@openfin/workspace-platform`
 * @property {{register(provider: HomeProvider): Promise<HomeRegistration>}} home `Home` of `@openfin/workspace`
 * @property {{CLITemplate: typeof import('@openfin/workspace').CLITemplate, ButtonStyle: typeof import('@openfin/workspace').ButtonStyle}} templates
 * @property {{register(options?: NotificationsRegisterOptions): Promise<unknown>, create(options: NotificationOptions): Promise<unknown>, addEventListener(type: 'notification-action', listener: (event: NotificationActionEvent) => void): Promise<void>}} notifications
 * @property {() => Promise<ChannelClient>} connectAdapter launches the adapter, resolves to its channel
 * @property {(url: string) => Promise<unknown>} launchView opens a URL as a platform view
 * @property {(url: string) => Promise<unknown>} openUrl tel:/mailto: through the platform (its permissions)
 * @property {() => Promise<{setContext(context: any): Promise<void>}>} sessionGroup the `servicenow` session group
 * @property {(message: string, detail?: unknown) => void} [log]
 */

/**
 * @typedef {object} WorkspaceConfig The manifest's `customSettings.servicenowAdapter`.
 * @property {string} [alias]
 * @property {string} [channelName]
 * @property {number} [launchTimeoutMs]
 * @property {boolean} [useToken]
 * @property {Record<string, unknown>} [settings] adapter settings, as for the plain platform
 * @property {boolean} [caseNotifications] default true in this flavour
 * @property {HomeSettings} [home]
 */

/**
 * The options of `launchAdapter` for this platform: its settings, this platform allowed onto the channel,
 * and `--case-notifications`.
 * @param {WorkspaceConfig} config
 * @param {string} platformUuid
 */
export function adapterLaunchOptions(config, platformUuid) {
  const settings = { ...(config.settings ?? {}) };
  const allowed = /** @type {string[]} */ (settings.allowedApps ?? []);
  if (allowed.length > 0 && !allowed.includes(platformUuid)) {
    settings.allowedApps = [...allowed, platformUuid];
  }
  const notify = config.caseNotifications ?? true;
  return {
    alias: config.alias,
    channelName: config.channelName,
    brokerUuid: platformUuid,
    extraArgs: [...argumentsFromSettings(settings), ...(notify ? ["--case-notifications"] : [])],
    timeoutMs: config.launchTimeoutMs,
    useToken: config.useToken,
  };
}

/**
 * Start the Workspace flavour.
 * @param {WorkspaceApi} api
 * @param {WorkspaceConfig} config
 * @param {{platformId: string, title?: string, icon?: string}} platform
 */
export async function startWorkspace(api, config, platform) {
  const log = api.log ?? (() => undefined);
  await api.platform.init({ browser: {} });
  const channel = await api.connectAdapter();
  const notify = config.caseNotifications ?? true;
  if (notify) {
    await api.notifications.register({
      notificationsPlatformOptions: {
        id: platform.platformId,
        title: platform.title ?? "ServiceNow",
        icon: platform.icon ?? "",
      },
    });
    await api.notifications.addEventListener("notification-action", (event) => {
      onNotificationAction(event, { launchView: api.launchView, sessionGroup: api.sessionGroup }).catch((error) =>
        log("notification action failed", String(error)),
      );
    });
    channel.register("servicenow.caseNotification", (/** @type {CaseNotificationEvent} */ event) =>
      api.notifications
        .create(caseNotification(event, { platformId: platform.platformId, icon: platform.icon }))
        .catch((error) => log("notification failed", String(error))),
    );
  }
  const home = createServiceNowHome({
    channel,
    templates: api.templates,
    launchView: api.launchView,
    openUrl: api.openUrl,
    settings: { icon: platform.icon, ...(config.home ?? {}) },
    log,
  });
  channel.register("servicenow.connectionChanged", (/** @type {{state: string}} */ event) => {
    if (event.state === "expired" || event.state === "disconnected") home.state.connected = false;
  });
  const registration = await api.home.register(home.provider);
  await home.connect();
  return { home, registration, channel };
}
