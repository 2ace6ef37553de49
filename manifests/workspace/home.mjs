// @ts-check
/**
 * The Workspace Home provider of the ServiceNow adapter: what OpenFin's integrate-with-servicenow how-to shows
 * in Home, but through the adapter's channel (servicenow.connect / search / request) instead of a login of its
 * own. Placeholders come first (one Loading result per record found), a card when a result gets the focus, a
 * type filter, a Connect card with the error and a retry button when signing in fails, and a new sign-in when
 * the login has expired (AuthTokenExpiredError).
 *
 * Everything the provider needs from Workspace and the platform is passed in, so that the same code runs in
 * the platform provider and, with test doubles, in Node.
 */

/** @typedef {import('@openfin/workspace').HomeProvider} HomeProvider */
/** @typedef {import('@openfin/workspace').HomeSearchResult} HomeSearchResult */
/** @typedef {import('@openfin/workspace').HomeSearchResponse} HomeSearchResponse */
/** @typedef {import('@openfin/workspace').HomeSearchListenerRequest} HomeSearchListenerRequest */
/** @typedef {import('@openfin/workspace').HomeSearchListenerResponse} HomeSearchListenerResponse */
/** @typedef {import('@openfin/workspace').HomeDispatchedSearchResult} HomeDispatchedSearchResult */
/** @typedef {import('@openfin/workspace').CLIFilter} CLIFilter */
/** @typedef {import('@openfin/workspace').TemplateFragment} TemplateFragment */
/** @typedef {import('@openfin/workspace').CustomTemplateData} CustomTemplateData */
/** @typedef {typeof import('@openfin/workspace').CLITemplate} CLITemplateEnum */
/** @typedef {typeof import('@openfin/workspace').ButtonStyle} ButtonStyleEnum */
/** @typedef {import('../../docs/typescript/servicenow-adapter').SearchResult} SearchResult */
/** @typedef {import('../../docs/typescript/servicenow-adapter').SearchHit} SearchHit */
/** @typedef {import('../../docs/typescript/servicenow-adapter').RequestResult} RequestResult */

/**
 * @typedef {object} AdapterChannel What the provider uses of its channel client to the adapter.
 * @property {(action: string, payload?: unknown) => Promise<any>} dispatch
 */

/**
 * @typedef {object} HomeSettings
 * @property {string} [id] the provider's id in Home (default "servicenow")
 * @property {string} [title] its title (default "ServiceNow")
 * @property {string} [icon] its icon URL
 * @property {string} [instanceUrl] the instance (default: the adapter's --instance-url)
 * @property {string} [clientId] the OAuth client id (default: the adapter's --client-id)
 * @property {number} [queryMinLength] characters before searching (default 3)
 * @property {number} [debounceMs] quiet time before a search goes out (default 200)
 * @property {number} [limit] results per type (default: the adapter's)
 */

/**
 * @typedef {object} HomeDependencies
 * @property {AdapterChannel} channel the adapter's channel
 * @property {{CLITemplate: CLITemplateEnum, ButtonStyle: ButtonStyleEnum}} templates Workspace's enums
 * @property {(url: string) => Promise<unknown>} launchView opens a URL as a platform view
 * @property {(url: string) => Promise<unknown>} openUrl opens tel:/mailto: through the platform
 * @property {HomeSettings} [settings]
 * @property {(message: string, detail?: unknown) => void} [log]
 * @property {(ms: number) => Promise<void>} [sleep] how the debounce waits (tests pass their own clock)
 */

const OPEN = "Open";
const CALL = "Call";
const EMAIL = "E-mail";
const CONNECT = "Connect";
const FILTER_ID = "servicenow";
const BASE_SCORE = 700000;
const PHONE = /^\+?[0-9 ()./-]{3,32}$/;
const EMAIL_ADDRESS = /^[^\s@:/?#]{1,64}@[A-Za-z0-9.-]{1,253}$/;

/**
 * The error name the adapter put before the colon of a rejected dispatch (`"<Name>: <message>"`).
 * @param {unknown} error
 */
export function errorName(error) {
  const cause = /** @type {any} */ (error)?.cause;
  if (cause && typeof cause.name === "string" && cause.name !== "Error") {
    return cause.name;
  }
  const message = String(/** @type {any} */ (error)?.message ?? error);
  const match = /^([A-Za-z]+Error):/.exec(message);
  return match ? match[1] : "Error";
}

/**
 * The message of a rejected dispatch, without the error name.
 * @param {unknown} error
 */
function errorMessage(error) {
  const message = String(/** @type {any} */ (error)?.message ?? error);
  return message.replace(/^[A-Za-z]+Error:\s*/, "");
}

/**
 * Create the Home provider. Returns the provider to register plus `connect()` (sign in, or show why not).
 * @param {HomeDependencies} deps
 */
export function createServiceNowHome(deps) {
  const { channel, templates, launchView, openUrl } = deps;
  const { CLITemplate, ButtonStyle } = templates;
  const settings = deps.settings ?? {};
  const id = settings.id ?? "servicenow";
  const title = settings.title ?? "ServiceNow";
  const icon = settings.icon ?? "";
  const minLength = settings.queryMinLength ?? 3;
  const debounceMs = settings.debounceMs ?? 200;
  const log = deps.log ?? (() => undefined);
  const sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));

  /** @type {{connected: boolean, error: string | undefined, instanceUrl: string | undefined}} */
  const state = { connected: false, error: undefined, instanceUrl: undefined };
  /** @type {HomeSearchListenerResponse | undefined} */
  let lastResponse;
  /** @type {Promise<boolean> | undefined} */
  let connecting;
  let searches = 0;

  const key = (/** @type {string} */ suffix) => `${id}-${suffix}`;

  /** @returns {HomeSearchResult} */
  function connectCard() {
    /** @type {TemplateFragment} */
    const layout = {
      type: "Container",
      style: { display: "flex", flexDirection: "column", padding: "10px", gap: "15px" },
      children: [
        { type: "Text", dataKey: "title", style: { fontWeight: "bold", fontSize: "14px" } },
        { type: "Text", dataKey: "description", style: { fontSize: "12px" } },
        { type: "Text", dataKey: "error", style: { fontFamily: "monospace", fontSize: "12px" } },
        { type: "Button", action: CONNECT, buttonStyle: ButtonStyle.Primary, children: [{ type: "Text", dataKey: "connect" }] },
      ],
    };
    return {
      key: key("connect"),
      score: BASE_SCORE,
      title,
      label: CONNECT,
      icon,
      actions: [{ name: CONNECT, hotkey: "Enter" }],
      data: { providerId: id, state: "connect" },
      template: CLITemplate.Custom,
      templateContent: {
        layout,
        data: {
          title: `${title} connection`,
          description: `${title} failed to connect with the following error`,
          error: state.error ?? "Unknown connection error",
          connect: CONNECT,
        },
      },
    };
  }

  /**
   * Sign in through the adapter (joins the desktop's login when there is one). On failure the Connect card
   * shows the error in the Home results that asked for it.
   * @returns {Promise<boolean>}
   */
  function connect() {
    connecting ??= (async () => {
      try {
        /** @type {Record<string, string>} */
        const payload = {};
        if (settings.instanceUrl) payload.instanceUrl = settings.instanceUrl;
        if (settings.clientId) payload.clientId = settings.clientId;
        const result = await channel.dispatch("servicenow.connect", payload);
        state.connected = true;
        state.error = undefined;
        state.instanceUrl = result?.instanceUrl;
        lastResponse?.revoke(key("connect"));
        return true;
      } catch (error) {
        state.connected = false;
        state.error = `${errorName(error)}: ${errorMessage(error)}`;
        log("connect failed", state.error);
        lastResponse?.respond([connectCard()]);
        return false;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  }

  /**
   * The entry that opens the instance itself, offered for an empty query or one its title starts with.
   * @param {string} query
   * @returns {HomeSearchResult[]}
   */
  function appResultFor(query) {
    const instanceUrl = state.instanceUrl;
    if (!instanceUrl || !title.toLowerCase().startsWith(query.toLowerCase())) return [];
    /** @type {TemplateFragment} */
    const layout = {
      type: "Container",
      style: { display: "flex", flexDirection: "column", padding: "10px", gap: "10px" },
      children: [
        { type: "Text", dataKey: "title", style: { fontWeight: "bold", fontSize: "14px" } },
        { type: "Text", dataKey: "description", style: { fontSize: "12px" } },
        { type: "Button", action: OPEN, buttonStyle: ButtonStyle.Primary, children: [{ type: "Text", dataKey: "open" }] },
      ],
    };
    return [
      {
        key: key("app"),
        score: BASE_SCORE + 1,
        title,
        label: "Application",
        icon,
        actions: [{ name: OPEN, hotkey: "Enter" }],
        data: { providerId: id, state: "app", url: `${new URL(instanceUrl).origin}/` },
        template: CLITemplate.Custom,
        templateContent: {
          layout,
          data: { title, description: `Open ${title} (${new URL(instanceUrl).host})`, open: OPEN },
        },
      },
    ];
  }

  /**
   * The options of this provider's filter as Home sent them back (none before the first search).
   * @param {HomeSearchListenerRequest} request
   */
  function filterOptions(request) {
    const filter = request.context?.selectedFilters?.find((f) => f.id === FILTER_ID);
    if (!filter) return [];
    return Array.isArray(filter.options) ? filter.options : [filter.options];
  }

  /**
   * The types to search: those selected in the filter, or every type before there is a filter.
   * @param {HomeSearchListenerRequest} request
   */
  function selectedTypes(request) {
    const options = filterOptions(request);
    return options.length === 0 ? undefined : options.filter((o) => o.isSelected).map((o) => o.value);
  }

  /**
   * One placeholder per record found: Home shows it at once and asks for the card when it gets the focus.
   * @param {SearchHit} hit
   * @param {number} order
   * @returns {HomeSearchResult}
   */
  function placeholder(hit, order) {
    return {
      key: key(hit.sysId),
      score: BASE_SCORE - order,
      title: hit.title,
      label: hit.label,
      icon,
      actions: [],
      data: { providerId: id, state: "loading", hit },
      template: CLITemplate.Loading,
      templateContent: "",
    };
  }

  /**
   * The card of a record: its details, Open, and Call / E-mail when it has a phone number / an address.
   * @param {SearchHit} hit
   * @param {number} score
   * @returns {HomeSearchResult}
   */
  function card(hit, score) {
    const phone = hit.phone && PHONE.test(hit.phone) ? hit.phone : undefined;
    const email = hit.email && EMAIL_ADDRESS.test(hit.email) ? hit.email : undefined;
    /** @type {Array<[string, string]>} */
    const details = hit.fields.map((f) => [f.label, f.value]);
    const buttons = [{ action: OPEN, dataKey: "open" }];
    if (phone) buttons.push({ action: CALL, dataKey: "call" });
    if (email) buttons.push({ action: EMAIL, dataKey: "email" });
    /** @type {TemplateFragment} */
    const layout = {
      type: "Container",
      style: { display: "flex", flexDirection: "column", padding: "10px", gap: "10px" },
      children: [
        { type: "Text", dataKey: "title", style: { fontWeight: "bold", fontSize: "14px" } },
        { type: "Text", dataKey: "label", style: { fontSize: "12px" } },
        { type: "List", dataKey: "details" },
        {
          type: "Container",
          style: { display: "flex", flexDirection: "row", gap: "10px" },
          children: buttons.map((b) => ({
            type: "Button",
            action: b.action,
            buttonStyle: b.action === OPEN ? ButtonStyle.Primary : ButtonStyle.Secondary,
            children: [{ type: "Text", dataKey: b.dataKey }],
          })),
        },
      ],
    };
    /** @type {CustomTemplateData} */
    const data = { title: hit.title, label: hit.label, details, open: OPEN, call: CALL, email: EMAIL };
    return {
      key: key(hit.sysId),
      score,
      title: hit.title,
      label: hit.label,
      icon,
      actions: buttons.map((b) => (b.action === OPEN ? { name: OPEN, hotkey: "Enter" } : { name: b.action })),
      data: { providerId: id, state: "card", hit, url: hit.url, phone, email },
      template: CLITemplate.Custom,
      templateContent: { layout, data },
    };
  }

  /**
   * The record's current values of the card's fields (servicenow.request), for a card that is up to date
   * when it is shown; the search's values when the read fails.
   * @param {SearchHit} hit
   * @returns {Promise<SearchHit>}
   */
  async function refreshed(hit) {
    const names = [...hit.fields.map((f) => f.field)];
    if (names.length === 0) return hit;
    const query = new URLSearchParams({ sysparm_display_value: "true", sysparm_fields: names.join(",") });
    try {
      /** @type {RequestResult} */
      const response = await channel.dispatch("servicenow.request", {
        apiEndpoint: `/api/now/table/${encodeURIComponent(hit.table)}/${encodeURIComponent(hit.sysId)}?${query}`,
        ...(state.instanceUrl ? { instanceUrl: state.instanceUrl } : {}),
      });
      const record = /** @type {Record<string, unknown> | undefined} */ (response?.data);
      if (!record || typeof record !== "object") return hit;
      const fields = hit.fields
        .map((f) => ({ ...f, value: String(record[f.field] ?? "") }))
        .filter((f) => f.value !== "");
      return { ...hit, fields };
    } catch (error) {
      log("card refresh failed", errorMessage(error));
      return hit;
    }
  }

  /**
   * @param {string} query
   * @param {string[] | undefined} types
   * @returns {Promise<SearchResult | undefined>}
   */
  async function search(query, types) {
    /** @type {Record<string, unknown>} */
    const payload = { query };
    if (types) payload.types = types;
    if (settings.limit) payload.limit = settings.limit;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await channel.dispatch("servicenow.search", payload);
      } catch (error) {
        const name = errorName(error);
        if (name === "SearchCancelledError") return undefined;
        if ((name === "AuthTokenExpiredError" || name === "NotConnectedError") && attempt === 0) {
          log("login expired, signing in again", name);
          state.connected = false;
          if (await connect()) continue;
          return undefined;
        }
        throw error;
      }
    }
  }

  /** @type {HomeProvider} */
  const provider = {
    id,
    title,
    icon,
    dispatchFocusEvents: true,

    async onUserInput(request, response) {
      lastResponse = response;
      const query = request.query.trim();
      if (!state.connected) {
        if (state.error) return { results: [connectCard()] };
        await connect();
        if (!state.connected) return { results: [connectCard()] };
      }
      const app = appResultFor(query);
      if (query.length < minLength || query.startsWith("/")) return { results: app };
      const mine = ++searches;
      await sleep(debounceMs);
      if (mine !== searches) return { results: [] }; // the user typed on
      const types = selectedTypes(request);
      if (types && types.length === 0) return { results: [] };
      response.open();
      response.respond([
        {
          key: key("searching"),
          score: BASE_SCORE,
          title: "Searching ...",
          icon,
          actions: [],
          data: { providerId: id, state: "searching" },
          template: CLITemplate.Loading,
          templateContent: "",
        },
      ]);
      try {
        const found = await search(query, types);
        if (!found || mine !== searches) return { results: [] };
        if (!state.connected) return { results: [connectCard()] };
        const hits = found.groups.flatMap((g) => g.hits);
        for (const group of found.groups) {
          if (group.error) log(`${group.type}: ${group.error.name}: ${group.error.message}`);
        }
        const results = hits.map((hit, order) => placeholder(hit, order));
        // The types the user turned off stay in the filter (off), so that they can be turned on again.
        const options = new Map(filterOptions(request).map((o) => [o.value, Boolean(o.isSelected)]));
        for (const group of found.groups) {
          if (group.hits.length > 0 && !options.has(group.type)) options.set(group.type, true);
        }
        /** @type {CLIFilter[]} */
        const filters = [
          { id: FILTER_ID, title, options: [...options].map(([value, isSelected]) => ({ value, isSelected })) },
        ];
        return { results: [...app, ...results], context: { filters } };
      } catch (error) {
        log("search failed", `${errorName(error)}: ${errorMessage(error)}`);
        return { results: [] };
      } finally {
        response.revoke(key("searching"));
      }
    },

    async onResultDispatch(result) {
      const dispatched = /** @type {HomeDispatchedSearchResult} */ (result);
      const data = dispatched.data ?? {};
      if (dispatched.action.trigger === "focus-change") {
        if (data.state === "loading" && data.hit) {
          const hit = await refreshed(data.hit);
          lastResponse?.respond([card(hit, dispatched.score ?? BASE_SCORE)]);
        }
        return;
      }
      if (dispatched.action.trigger !== "user-action") return;
      switch (dispatched.action.name) {
        case CONNECT:
          await connect();
          return;
        case CALL:
          if (typeof data.phone === "string" && PHONE.test(data.phone)) {
            await openUrl(`tel:${data.phone.replace(/[^+0-9]/g, "")}`);
          }
          return;
        case EMAIL:
          if (typeof data.email === "string" && EMAIL_ADDRESS.test(data.email)) {
            await openUrl(`mailto:${data.email}`);
          }
          return;
        default: {
          const url = data.url ?? data.hit?.url;
          if (typeof url === "string" && isInstancePage(url, state.instanceUrl)) {
            await launchView(url);
          }
        }
      }
    },
  };

  return { provider, connect, state };
}

/**
 * Whether `url` is a page of the connected instance: Open never launches anything else.
 * @param {string} url
 * @param {string | undefined} instanceUrl
 */
export function isInstancePage(url, instanceUrl) {
  try {
    const parsed = new URL(url);
    return instanceUrl !== undefined && parsed.origin === new URL(instanceUrl).origin;
  } catch {
    return false;
  }
}
