// Types of @openfin-servicenow-adapter/client: the @openfin/servicenow API over the shared adapter.
import type {
  ConnectionChangedEvent,
  RecordChangedEvent,
  StatusResult,
} from './servicenow-adapter.js';

export type {
  ConnectionChangedEvent,
  ConnectionStatus,
  RecordChangedEvent,
  StatusResult,
} from './servicenow-adapter.js';

/** HTTP methods of executeApiRequest (any case is accepted; requests go out in upper case). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Extra request headers (Authorization, Host, Cookie, framing and hop-by-hop headers are refused). */
export type ApiRequestHeaders = Record<string, string>;

/** Extra authorize-URL parameters, e.g. `{ prompt: 'login' }`. */
export type AuthFlowParams = Record<string, string>;

/** Accepted for compatibility with @openfin/servicenow and ignored: the adapter owns the login window. */
export type AuthWindowOptions = Record<string, unknown>;

/** The official `ServiceNowRestApiResponse`: `data` and `type` are absent when there is no body. */
export interface ServiceNowRestApiResponse<T = unknown> {
  /** The HTTP status of the instance's answer. */
  status: number;
  /** The body, parsed by its Content-Type, with the `{"result": ...}` envelope removed. */
  data?: T;
  /** The answer's Content-Type. */
  type?: string;
}

/** A user record (`sys_user`); reference fields are plain sys_ids. */
export interface ServiceNowUser {
  sys_id: string;
  user_name: string;
  name?: string;
  email?: string;
  [field: string]: unknown;
}

/** A connection to a ServiceNow instance, shared through the adapter with every app of the desktop. */
export interface ServiceNowConnection {
  /** ID of the registered OAuth application that was used for authorization. */
  clientId: string;
  /** The user the desktop is signed in as. */
  currentUser: ServiceNowUser;
  /** Releases this app's share; the adapter revokes the tokens when the last share goes. */
  disconnect(): Promise<void>;
  /** Executes a request to the specified endpoint of the ServiceNow REST API, as @openfin/servicenow does. */
  executeApiRequest<T = unknown>(
    apiEndpoint: string,
    httpMethod?: HttpMethod,
    data?: unknown,
    suppressResponseBody?: boolean,
    headers?: ApiRequestHeaders,
  ): Promise<ServiceNowRestApiResponse<T>>;
  /** The URL of the ServiceNow instance. */
  instanceUrl: string;
  /** Record changes on this instance (apps' writes through the adapter and the adapter's polling). */
  onRecordChanged(handler: (event: RecordChangedEvent) => void): () => void;
  /** This instance's connection state changes; `expired` means connect again. */
  onConnectionChanged(handler: (event: ConnectionChangedEvent) => void): () => void;
  /** The adapter's connections (never a token) and watched tables. */
  status(): Promise<StatusResult>;
}

/** Where the adapter is: `fin` (default: the global of an OpenFin window) and its channel (default `servicenow`). */
export interface ClientOptions {
  fin?: unknown;
  channelName?: string;
}

export function configure(options?: ClientOptions): void;

/**
 * Signs in to the instance through the adapter (or joins the desktop's login), as @openfin/servicenow's connect.
 *
 * @throws {AuthorizationError} the login did not complete.
 * @throws {ParameterError} an invalid instance URL or client id.
 * @throws {InitializationError} the adapter's channel cannot be reached.
 */
export function connect(
  instanceUrl: string,
  clientId: string,
  scope?: string[],
  authFlowParams?: AuthFlowParams,
  authWindowOptions?: AuthWindowOptions,
): Promise<ServiceNowConnection>;

export function status(): Promise<StatusResult>;
export function onRecordChanged(handler: (event: RecordChangedEvent) => void): () => void;
export function onConnectionChanged(handler: (event: ConnectionChangedEvent) => void): () => void;

export class ApiError extends Error {
  constructor(message?: string, cause?: unknown);
}
export class ApiRequestError extends ApiError {
  constructor(message?: string, status?: number, cause?: unknown);
  /** The HTTP status, when the instance answered. */
  status?: number;
  /** The instance's JSON error body, e.g. `{error: {message, detail}, status: "failure"}`. */
  data?: unknown;
  /** The instance's `error.detail` (adapter extra). */
  detail?: unknown;
}
export class AuthorizationError extends ApiError {
  constructor(message?: string, cause?: unknown);
  data?: unknown;
}
export class AuthTokenExpiredError extends ApiError {
  constructor(message?: string, cause?: unknown);
  /** The token endpoint's answer to the refused refresh. */
  data?: unknown;
}
export class InitializationError extends ApiError {
  constructor(message?: string, cause?: unknown);
}
export class ParameterError extends ApiError {
  constructor(message?: string);
}
export class NotConnectedError extends ApiRequestError {}
export class AccessDeniedError extends ApiError {}
