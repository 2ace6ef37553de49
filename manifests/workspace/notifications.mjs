// @ts-check
/**
 * Case notifications in the Workspace flavour: the adapter's `servicenow.caseNotification` event becomes a
 * Workspace notification with an "Open case" button; clicking it opens the case as a platform view and puts
 * its `servicenow.case` context on the session context group `servicenow`, so every app following that group
 * shows the case too.
 */

/** @typedef {import('@openfin/workspace/notifications').NotificationOptions} NotificationOptions */
/** @typedef {import('@openfin/workspace/notifications').NotificationActionEvent} NotificationActionEvent */
/** @typedef {import('../../docs/typescript/servicenow-adapter').CaseNotificationEvent} CaseNotificationEvent */

export const OPEN_CASE = "open-case";
export const SESSION_CONTEXT_GROUP = "servicenow";

// Markdown would render a customer's `![x](https://tracker)` as a remote image, or a link under any label.
const MARKDOWN_SPECIAL = /[\\`*_{}[\]()#+\-.!|<>~]/g;

/**
 * `text` shown literally by a markdown notification body.
 * @param {string} text
 */
export function escapeMarkdown(text) {
  return String(text).replace(MARKDOWN_SPECIAL, (char) => `\\${char}`);
}

/**
 * The Workspace notification of a case event.
 * @param {CaseNotificationEvent} event
 * @param {{platformId?: string, icon?: string}} [options]
 * @returns {NotificationOptions}
 */
export function caseNotification(event, options = {}) {
  /** @type {NotificationOptions} */
  const notification = {
    template: "markdown",
    id: `servicenow-${event.kind}-${event.sys_id}-${Date.now()}`,
    title: event.title,
    body: escapeMarkdown(event.body),
    category: event.kind === "assigned" ? "Case assigned" : "Customer comment",
    toast: "transient",
    buttons: [
      {
        title: "Open case",
        type: "button",
        cta: true,
        onClick: { task: OPEN_CASE, url: event.url, instanceUrl: event.instanceUrl, context: event.context },
      },
    ],
  };
  if (options.platformId) notification.platform = options.platformId;
  if (options.icon) notification.icon = options.icon;
  return notification;
}

/**
 * @typedef {object} OpenCaseDependencies
 * @property {(url: string) => Promise<unknown>} launchView opens a URL as a platform view
 * @property {() => Promise<{setContext(context: any): Promise<void>}>} sessionGroup the `servicenow` session group
 */

/**
 * Handle a notification button: "Open case" opens the case (a page of its own instance only) and shares it.
 * @param {NotificationActionEvent} event
 * @param {OpenCaseDependencies} deps
 * @returns {Promise<boolean>} whether the event was ours
 */
export async function onNotificationAction(event, deps) {
  const result = /** @type {any} */ (event.result);
  if (!result || result.task !== OPEN_CASE) return false;
  const { url, instanceUrl, context } = result;
  if (typeof url !== "string" || typeof instanceUrl !== "string" || !samePageOrigin(url, instanceUrl)) {
    return false;
  }
  await deps.launchView(url);
  if (context && context.type === "servicenow.case") {
    const group = await deps.sessionGroup();
    await group.setContext(context);
  }
  return true;
}

/**
 * @param {string} url
 * @param {string} instanceUrl
 */
function samePageOrigin(url, instanceUrl) {
  try {
    return new URL(url).origin === new URL(instanceUrl).origin;
  } catch {
    return false;
  }
}
