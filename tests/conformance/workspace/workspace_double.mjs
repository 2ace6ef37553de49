// Test doubles of the Workspace API surface the Workspace flavour uses: they record registrations and what
// Home and the notification center would show, and let a test type, focus, click and press buttons. The enums
// (CLITemplate, ButtonStyle) are the real ones of the pinned @openfin/workspace package.
import workspace from '@openfin/workspace';

export const { CLITemplate, ButtonStyle } = workspace;

/** Workspace's Home: one registered provider; `shown` is what Home displays for the current query. */
export class HomeDouble {
  constructor() {
    this.providers = [];
    this.shown = new Map();
    this.context = undefined;
    this.requests = 0;
  }

  async register(provider) {
    this.providers.push(provider);
    return { clientAPIVersion: '20.5.4', workspaceVersion: '20.5.4', setSearchQuery: async () => undefined };
  }

  get provider() {
    if (this.providers.length !== 1) throw new Error(`${this.providers.length} Home providers registered`);
    return this.providers[0];
  }

  /** The user types `query` (with Home's filter selection): resolves to what Home then shows. */
  async type(query, selectedFilters) {
    this.requests += 1;
    const request = {
      id: `request-${this.requests}`,
      query,
      context: { isSuggestion: false, isSaved: false, isStore: false, isSearchEngines: false, selectedFilters },
      onClose: () => undefined,
      removeListener: () => undefined,
    };
    const shown = new Map();
    const events = [];
    const response = {
      open: () => events.push('open'),
      close: () => events.push('close'),
      respond: (results) => {
        for (const result of results) shown.set(result.key, result);
        events.push(`respond:${results.map((r) => r.key).join(',')}`);
      },
      revoke: (...keys) => {
        for (const key of keys) shown.delete(key);
        events.push(`revoke:${keys.join(',')}`);
      },
      updateContext: (context) => {
        this.context = context;
      },
    };
    const returned = await this.provider.onUserInput(request, response);
    for (const result of returned.results) shown.set(result.key, result);
    if (returned.context) this.context = returned.context;
    this.shown = shown;
    return { returned, shown, events };
  }

  /** Home dispatches a result: its focus (`focus-change`) or a button/Enter (`user-action`). */
  async dispatch(key, trigger, name = '') {
    const result = this.shown.get(key);
    if (!result) throw new Error(`Home shows no result ${key}`);
    await this.provider.onResultDispatch({
      ...result,
      action: { name, trigger },
      dispatcherIdentity: { uuid: 'openfin-home', name: 'openfin-home' },
    });
    return this.shown.get(key);
  }
}

/** Workspace notifications: records the platform, the notifications created and the action listeners. */
export class NotificationsDouble {
  constructor() {
    this.platforms = [];
    this.created = [];
    this.listeners = [];
    this.waiters = [];
  }

  async register(options) {
    this.platforms.push(options);
    return { clientAPIVersion: '20.5.4', notificationsVersion: '2.9.1' };
  }

  async create(options) {
    this.created.push(options);
    for (const waiter of this.waiters.splice(0)) waiter(options);
    return { ...options, date: new Date(), expires: null };
  }

  async addEventListener(type, listener) {
    this.listeners.push({ type, listener });
  }

  /** The next notification created (or the first not yet taken). */
  next(matching = () => true) {
    const found = this.created.find(matching);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const wait = (options) => (matching(options) ? resolve(options) : this.waiters.push(wait));
      this.waiters.push(wait);
    });
  }

  /** The user clicks button `index` of `notification`. */
  click(notification, index = 0) {
    const control = notification.buttons[index];
    const event = {
      type: 'notification-action',
      notification,
      source: { type: 'desktop', identity: { uuid: 'notifications-center', name: 'notifications-center' } },
      trigger: 'control',
      control,
      result: control.onClick,
    };
    for (const { type, listener } of this.listeners) {
      if (type === 'notification-action') listener(event);
    }
  }
}

/** The Workspace platform's init, recorded. */
export class PlatformDouble {
  constructor() {
    this.inits = [];
  }

  async init(config) {
    this.inits.push(config);
  }
}
