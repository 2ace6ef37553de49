// The @openfin/servicenow API (connect, executeApiRequest, currentUser, disconnect, the same error classes)
// served by the shared openfin-servicenow-adapter over its `servicenow` channel, plus what one adapter for
// the whole desktop can offer: record and connection events, and the adapter's status.
//
// The OpenFin API is the `fin` global of an OpenFin window or view; elsewhere (Node with
// @openfin/node-adapter, tests) pass it with `configure({ fin })` before the first call.

const DEFAULT_CHANNEL = 'servicenow';
const RECORD_CHANGED = 'servicenow.recordChanged';
const CONNECTION_CHANGED = 'servicenow.connectionChanged';

/** Base of every error this module throws; `name` is the class name, as in @openfin/servicenow. */
export class ApiError extends Error {
  constructor(message, cause) {
    super(message ?? cause?.message ?? 'An unexpected error has occurred');
    this.name = this.constructor.name;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The instance answered non-2xx (`status`, and `data`: its JSON error body), or the request failed. */
export class ApiRequestError extends ApiError {
  constructor(message, status, cause) {
    super(message ?? 'An error occurred when executing the API request', cause);
    this.status = status;
  }
}

/** The user's consent could not be obtained, or the code could not be exchanged for tokens. */
export class AuthorizationError extends ApiError {
  constructor(message, cause) {
    super(message ?? 'An authorization error occurred', cause);
  }
}

/** The access token expired and the refresh token was refused: connect again. */
export class AuthTokenExpiredError extends ApiError {
  constructor(message, cause) {
    super(message ?? 'The API request failed as the authorization tokens have expired', cause);
  }
}

/** The adapter could not be reached (its channel does not exist or refused this app). */
export class InitializationError extends ApiError {
  constructor(message, cause) {
    super(message ?? 'An initialization error occurred', cause);
  }
}

/** An argument was refused before any request was sent. */
export class ParameterError extends ApiError {
  constructor(message) {
    super(message ?? 'Invalid parameter detected');
  }
}

/** A request on a connection that was disconnected (an ApiRequestError, as @openfin/servicenow throws there). */
export class NotConnectedError extends ApiRequestError {}

/** The adapter does not let this app use ServiceNow (its uuid is not allowed). */
export class AccessDeniedError extends ApiError {}

const ERRORS = {
  ApiRequestError,
  AuthorizationError,
  AuthTokenExpiredError,
  ParameterError,
  NotConnectedError,
  AccessDeniedError,
};

let settings = { fin: undefined, channelName: DEFAULT_CHANNEL };
let channel;
const listeners = { [RECORD_CHANGED]: new Set(), [CONNECTION_CHANGED]: new Set() };

/** Where the adapter is: `fin` (default: the global of an OpenFin window) and its channel's name. */
export function configure(options = {}) {
  settings = { ...settings, ...options };
  channel = undefined;
}

function openFin() {
  const fin = settings.fin ?? globalThis.fin;
  if (!fin?.InterApplicationBus?.Channel) {
    throw new InitializationError('The OpenFin API (fin) is not available: run in OpenFin or call configure({ fin })');
  }
  return fin;
}

function channelClient() {
  channel ??= (async () => {
    const client = await openFin().InterApplicationBus.Channel.connect(settings.channelName);
    for (const action of [RECORD_CHANGED, CONNECTION_CHANGED]) {
      client.register(action, (event) => {
        for (const listener of [...listeners[action]]) listener(event);
      });
    }
    client.onDisconnection(() => {
      channel = undefined;
    });
    return client;
  })().catch((error) => {
    channel = undefined;
    if (error instanceof ApiError) throw error;
    // The adapter refusing this app (AccessDeniedError) keeps its class; anything else is an unreachable adapter.
    const refused = translated(error);
    throw refused instanceof AccessDeniedError ? refused : new InitializationError(undefined, error);
  });
  return channel;
}

// The adapter's error as the runtime relayed it: `cause` has its name, message and fields; a runtime that
// relays only the reason leaves "<Name>: <message>" as the message.
function translated(error) {
  const cause = error?.cause;
  let name = cause?.name;
  let message = cause?.message;
  if (!(name in ERRORS)) {
    const match = /^(\w+): ([\s\S]*)$/.exec(String(error?.message ?? ''));
    if (match && match[1] in ERRORS) [, name, message] = match;
  }
  const Class = ERRORS[name];
  if (Class === undefined) return new ApiError(error?.message, error);
  const out = Class === ApiRequestError || Class === NotConnectedError
    ? new Class(message, cause?.status ?? undefined)
    : new Class(message);
  if (cause?.data !== undefined) out.data = cause.data;
  if (cause?.detail !== undefined) out.detail = cause.detail;
  return out;
}

async function dispatch(action, payload) {
  const client = await channelClient();
  try {
    return await client.dispatch(action, payload);
  } catch (error) {
    throw translated(error);
  }
}

function instanceOrigin(instanceUrl) {
  try {
    return new URL(instanceUrl).origin;
  } catch {
    throw new ParameterError('Invalid instance URL');
  }
}

/**
 * Sign in to a ServiceNow instance through the adapter (or join the login the desktop already has), as
 * @openfin/servicenow's connect. `authWindowOptions` is accepted and ignored: the adapter owns the window.
 */
export async function connect(instanceUrl, clientId, scope = [], authFlowParams = undefined, authWindowOptions = undefined) {
  void authWindowOptions;
  instanceOrigin(instanceUrl);
  if (!clientId) throw new ParameterError('Invalid client ID');
  const session = await dispatch('servicenow.connect', {
    instanceUrl,
    clientId,
    scope,
    ...(authFlowParams === undefined ? {} : { authFlowParams }),
  });
  const origin = instanceOrigin(session.instanceUrl);
  let released = false;
  const ownEvents = (action, handler) => {
    const listener = (event) => {
      if (instanceOrigin(event.instanceUrl) === origin) handler(event);
    };
    listeners[action].add(listener);
    return () => listeners[action].delete(listener);
  };
  return {
    clientId,
    currentUser: session.currentUser,
    instanceUrl,
    async disconnect() {
      if (released) return;
      released = true;
      await dispatch('servicenow.disconnect', { instanceUrl: origin });
    },
    async executeApiRequest(apiEndpoint, httpMethod = 'GET', data = undefined, suppressResponseBody = false, headers = undefined) {
      if (released) throw new NotConnectedError(`Not connected to ${origin}`);
      const endpoint = String(apiEndpoint);
      return dispatch('servicenow.request', {
        instanceUrl: origin,
        apiEndpoint: endpoint.startsWith('/') ? endpoint : `/${endpoint}`,
        httpMethod,
        ...(data === undefined ? {} : { data }),
        suppressResponseBody: Boolean(suppressResponseBody),
        ...(headers === undefined ? {} : { headers }),
      });
    },
    onRecordChanged: (handler) => ownEvents(RECORD_CHANGED, handler),
    onConnectionChanged: (handler) => ownEvents(CONNECTION_CHANGED, handler),
    status: () => status(),
  };
}

/** Every connection the adapter holds (never a token) and the tables whose changes it broadcasts. */
export async function status() {
  return dispatch('servicenow.status', {});
}

/** Call `handler` for every record change the adapter broadcasts; returns a function that stops it. */
export function onRecordChanged(handler) {
  listeners[RECORD_CHANGED].add(handler);
  channelClient().catch(() => {});
  return () => listeners[RECORD_CHANGED].delete(handler);
}

/** Call `handler` when a connection's state changes (connected, refreshed, expired, disconnected). */
export function onConnectionChanged(handler) {
  listeners[CONNECTION_CHANGED].add(handler);
  channelClient().catch(() => {});
  return () => listeners[CONNECTION_CHANGED].delete(handler);
}
