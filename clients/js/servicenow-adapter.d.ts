// Generated from adapter/bridge/messages.py by `python -m adapter.bridge.schemas`: do not edit by hand.
// Types of the `servicenow` channel served by openfin-servicenow-adapter (see docs/channel-api.md).

/** ``servicenow.connect``: log in to an instance (or join the login every other app shares). */
export interface ConnectPayload {
  /** instance URL; its origin is used */
  instanceUrl?: string | null;
  /** OAuth client id of the instance's app registry entry */
  clientId?: string | null;
  /** OAuth scopes, joined with spaces */
  scope?: string[];
  /** extra authorize-URL parameters, e.g. {prompt: 'login'} */
  authFlowParams?: Record<string, string>;
  /** false: fail rather than show a login */
  interactive?: boolean;
}

/** The shared connection as the app now sees it. */
export interface ConnectResult {
  instanceUrl: string;
  clientId: string;
  currentUser: Record<string, unknown>;
  scope: string[];
  /** true when the app joined a login that already existed or was in progress */
  shared: boolean;
  /** how many apps share the connection now */
  apps: number;
}

/** ``servicenow.request``: the official ``executeApiRequest`` arguments. */
export interface RequestPayload {
  /** which connection; optional with only one */
  instanceUrl?: string | null;
  /** a path on the instance, e.g. /api/now/table/incident */
  apiEndpoint: string;
  httpMethod?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  data?: unknown;
  suppressResponseBody?: boolean;
  headers?: Record<string, string> | null;
}

/** The official ``ServiceNowRestApiResponse``: ``data`` and ``type`` are absent when there is no body. */
export interface RequestResult {
  status: number;
  data?: unknown;
  type?: string | null;
}

/** ``servicenow.disconnect``: release this app's share of a connection. */
export interface DisconnectPayload {
  instanceUrl?: string | null;
}

/** What is left after the release; ``revoked`` says whether the last release revoked the tokens. */
export interface DisconnectResult {
  disconnected?: true;
  apps: number;
  revoked: boolean;
}

/** ``servicenow.status`` takes nothing. */
export interface StatusPayload {
}

/** One connection as ``servicenow.status`` shows it: never a token. */
export interface ConnectionStatus {
  instanceUrl: string;
  clientId: string;
  state: 'connected' | 'refreshed' | 'expired' | 'disconnected';
  /** user_name of the logged-in user */
  currentUser?: string | null;
  /** how many apps share the connection */
  apps: number;
  /** ISO 8601 expiry of the access token */
  tokenExpiresAt?: string | null;
}

/** Every connection the adapter holds, and the tables whose changes it broadcasts. */
export interface StatusResult {
  connections: ConnectionStatus[];
  /** tables whose changes are broadcast */
  watching?: string[];
}

/** ``servicenow.recordChanged``, dispatched to every connected app. */
export interface RecordChangedEvent {
  instanceUrl: string;
  table: string;
  sys_id: string;
  number: string;
  change: 'created' | 'updated' | 'deleted';
  changedFields: string[];
  context: Record<string, unknown>;
}

/** ``servicenow.connectionChanged``, dispatched to every connected app. */
export interface ConnectionChangedEvent {
  instanceUrl: string;
  clientId: string;
  state: 'connected' | 'refreshed' | 'expired' | 'disconnected';
}

/** The ``error`` object of a failed action; ``reason`` is ``"<name>: <message>"``. */
export interface ErrorInfo {
  name: string;
  message: string;
  status?: number | null;
  /** the instance's error.detail */
  detail?: unknown;
  /** the instance's whole JSON error body (official error.data) */
  data?: unknown;
}

/** Actions apps dispatch on the channel, with their payloads and results. */
export interface ServiceNowChannelActions {
  'servicenow.connect': { payload: ConnectPayload; result: ConnectResult };
  'servicenow.request': { payload: RequestPayload; result: RequestResult };
  'servicenow.disconnect': { payload: DisconnectPayload; result: DisconnectResult };
  'servicenow.status': { payload: StatusPayload; result: StatusResult };
}

/** Events the adapter dispatches to connected apps (register them with `client.register`). */
export interface ServiceNowChannelEvents {
  'servicenow.recordChanged': RecordChangedEvent;
  'servicenow.connectionChanged': ConnectionChangedEvent;
}
