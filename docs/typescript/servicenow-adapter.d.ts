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

/** What became of the events the adapter dispatched (``servicenow.recordChanged`` and the like). */
export interface DeliveryCounts {
  /** events waiting to be dispatched */
  waiting?: number;
  /** events the app acknowledged */
  delivered?: number;
  /** waiting events replaced by a newer event for the same record or connection */
  merged?: number;
  /** waiting events dropped, the oldest first, past the backlog */
  dropped?: number;
  /** events whose dispatch failed or was not acknowledged in time */
  failed?: number;
}

/** Event delivery: each app has its own queue, so a slow app falls behind alone (docs/channel-api.md). */
export interface DeliveryStatus {
  /** events that may wait per app before the oldest is dropped */
  backlog: number;
  /** the calling app's events, over its channel connections */
  app: DeliveryCounts;
  /** every app's events since the channel was made */
  total: DeliveryCounts;
}

/** Every connection the adapter holds, the tables whose changes it broadcasts, and event delivery. */
export interface StatusResult {
  connections: ConnectionStatus[];
  /** tables whose changes are broadcast */
  watching?: string[];
  /** how the adapter's events fared */
  delivery?: DeliveryStatus | null;
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
  detail?: unknown;
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
