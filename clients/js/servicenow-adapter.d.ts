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

/** The most recent failure the adapter noticed outside an app's own request. */
export interface AdapterError {
  /** ISO 8601 time */
  at: string;
  /** what failed: runtime, broker, watcher */
  where: string;
  message: string;
}

/** The platform's interop broker the adapter was told to join (``--broker``). */
export interface BrokerStatus {
  platform: string;
  /** whether the adapter is in the broker (contexts and intents work) */
  joined: boolean;
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

/** The adapter's own connection to the OpenFin runtime. */
export interface RuntimeStatus {
  state: 'connecting' | 'connected' | 'reconnecting' | 'restoring' | 'closed';
  address: string;
  /** how many times the connection was restored since start-up */
  reconnects: number;
}

/** One poller of changes: an instance's table. */
export interface WatcherStatus {
  instanceUrl: string;
  table: string;
  /** whether its last request succeeded (true before the first one) */
  healthy: boolean;
  /** ISO 8601 time of its last request */
  lastPollAt?: string | null;
  /** why its last failed request failed */
  lastError?: string | null;
}

/** Every connection the adapter holds, the tables it broadcasts, and the adapter's own health. */
export interface StatusResult {
  connections: ConnectionStatus[];
  /** tables whose changes are broadcast */
  watching?: string[];
  /** the adapter's version */
  adapterVersion?: string | null;
  runtime?: RuntimeStatus | null;
  /** absent when no --broker was given */
  broker?: BrokerStatus | null;
  watchers?: WatcherStatus[];
  /** uuids of the apps connected to the channel */
  apps?: string[];
  lastError?: AdapterError | null;
  /** how the adapter's events fared */
  delivery?: DeliveryStatus | null;
}

/** ``servicenow.search``: look for ``query`` in the configured record types at once. ``query`` is app input that ends up inside an encoded query: ``^`` (which would add conditions), control characters (newlines included) and ``javascript:`` (which the instance would run) are refused. */
export interface SearchPayload {
  /** the text to look for (LIKE on each type's fields) */
  query: string;
  /** type names to search; default: every type */
  types?: string[] | null;
  /** at most this many results per type (never above the type's) */
  limit?: number | null;
  /** which connection; optional with only one */
  instanceUrl?: string | null;
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

/** One line of a result's card. */
export interface SearchField {
  field: string;
  label: string;
  /** the display value */
  value: string;
}

/** The results of one type; ``error`` instead when that type's request failed (e.g. 403). */
export interface SearchGroup {
  type: string;
  table: string;
  hits: SearchHit[];
  error?: ErrorInfo | null;
}

/** One record found, with what a card shows and what its buttons need. */
export interface SearchHit {
  sysId: string;
  /** the record's own table (its class) */
  table: string;
  /** the search type that found it */
  type: string;
  title: string;
  /** type name and, when configured, e.g. the number: 'Case CS0001001' */
  label: string;
  /** match quality: 3 whole field, 2 field start, 1 word start, 0 inside */
  score: number;
  /** sys_updated_on */
  updatedOn: string;
  /** the record's page on the instance */
  url: string;
  fields: SearchField[];
  phone?: string | null;
  email?: string | null;
}

/** Every searched type in the configured order, each ranked (best match, then newest) and capped. */
export interface SearchResult {
  query: string;
  instanceUrl: string;
  groups: SearchGroup[];
}

/** A ServiceNow case as the FDC3 context ``servicenow.case``. */
export interface CaseContext {
  type: "servicenow.case";
  /** '<number>: <short description>', or the number */
  name: string;
  id: CaseIds;
  shortDescription: string;
  /** the state's label, e.g. 'Open' */
  state: string;
  /** the priority's label, e.g. '2 - High' */
  priority: string;
  active: boolean;
  /** last update, ISO 8601 in UTC with its zone, e.g. '2026-11-29T09:15:02Z' */
  updatedOn?: string;
  /** the assignee's name */
  assignedTo?: string;
  contact?: ContactContext;
  account?: OrganizationContext;
}

/** Identifiers of a case (our own type, so plain keys). */
export interface CaseIds {
  sys_id: string;
  number: string;
  /** the record's own table (a subclass of the case table) */
  table: string;
  /** origin of the instance the case lives on */
  instance: string;
}

/** The case's contact, an ``fdc3.contact``. */
export interface ContactContext {
  type: "fdc3.contact";
  name: string;
  id: ContactIds;
}

/** Identifiers of a case's contact: its sys_id, and its e-mail when it has one. */
export interface ContactIds {
  /** the record's sys_id (namespaced key) */
  'servicenow.sys_id': string;
  /** the same sys_id under its legacy key (deprecated) */
  sys_id: string;
  email?: string;
}

/** The case's account, an ``fdc3.organization``. */
export interface OrganizationContext {
  type: "fdc3.organization";
  name: string;
  id: PartyIds;
}

export interface PartyIds {
  /** the record's sys_id (namespaced key) */
  'servicenow.sys_id': string;
  /** the same sys_id under its legacy key (deprecated) */
  sys_id: string;
}

/** ``servicenow.recordChanged``, dispatched to every connected app. */
export interface RecordChangedEvent {
  instanceUrl: string;
  table: string;
  sys_id: string;
  number: string;
  change: 'created' | 'updated' | 'deleted';
  changedFields: string[];
  /** the record as a servicenow.case context (of a deleted record: ids and number only) */
  context: CaseContext;
}

/** ``servicenow.connectionChanged``, dispatched to every connected app. */
export interface ConnectionChangedEvent {
  instanceUrl: string;
  clientId: string;
  state: 'connected' | 'refreshed' | 'expired' | 'disconnected';
}

/** ``servicenow.caseNotification`` (``--case-notifications``): something the signed-in user should see. ``assigned``: a case was assigned to the user by someone else; ``customerComment``: the case's contact added a comment to one of the user's cases. */
export interface CaseNotificationEvent {
  kind: 'assigned' | 'customerComment';
  instanceUrl: string;
  table: string;
  sys_id: string;
  number: string;
  /** one line for the notification's title */
  title: string;
  /** the notification's text */
  body: string;
  /** who assigned it, or the customer who commented */
  author?: string | null;
  /** the case's page on the instance */
  url: string;
  /** the servicenow.case context of the case */
  context: Record<string, unknown>;
}

/** Cases as the FDC3 context ``servicenow.caseList`` (the result of ``ViewInteractions``). */
export interface CaseListContext {
  type: "servicenow.caseList";
  cases: CaseContext[];
}

/** An ``fdc3.transactionResult``: what a create or update intent did. */
export interface TransactionResultContext {
  type: "fdc3.transactionResult";
  status: 'Created' | 'Deleted' | 'Updated' | 'Failed';
  /** the context of the record the transaction created or changed */
  context?: Record<string, unknown>;
  /** what happened, for people */
  message?: string;
}

/** Actions apps dispatch on the channel, with their payloads and results. */
export interface ServiceNowChannelActions {
  'servicenow.connect': { payload: ConnectPayload; result: ConnectResult };
  'servicenow.request': { payload: RequestPayload; result: RequestResult };
  'servicenow.disconnect': { payload: DisconnectPayload; result: DisconnectResult };
  'servicenow.status': { payload: StatusPayload; result: StatusResult };
  'servicenow.search': { payload: SearchPayload; result: SearchResult };
}

/** Events the adapter dispatches to connected apps (register them with `client.register`). */
export interface ServiceNowChannelEvents {
  'servicenow.recordChanged': RecordChangedEvent;
  'servicenow.connectionChanged': ConnectionChangedEvent;
  'servicenow.caseNotification': CaseNotificationEvent;
}

/** FDC3 intents the adapter handles: the context types each takes and what its result is. */
export interface ServiceNowIntents {
  'ViewInteractions': { contexts: 'fdc3.contact' | 'fdc3.instrument' | 'fdc3.organization'; result: CaseListContext };
  'CreateInteraction': { contexts: 'fdc3.contactList' | 'fdc3.interaction'; result: TransactionResultContext };
  'servicenow.ViewCase': { contexts: 'servicenow.case'; result: CaseContext };
  'servicenow.CreateCase': { contexts: 'servicenow.case'; result: TransactionResultContext };
}
