/**
 * Typed client for the jupyterlab-mlops REST API (`/mlops/api/…`).
 *
 * Every request goes through `ServerConnection.makeRequest`, so it carries the
 * Jupyter token / XSRF cookie like the rest of JupyterLab. Errors are raised in
 * one style only: {@link MLOpsAPIError} for any non-2xx answer (carrying the
 * server's `{"error": {"code", "message"}}`), `ServerConnection.NetworkError`
 * when the server cannot be reached.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Path segments of the API root, below the server's base URL. */
export const API_NAMESPACE = ['mlops', 'api'] as const;

/** Default page size for list endpoints. */
export const DEFAULT_PAGE_LIMIT = 50;

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

/** `GET health` */
export interface IHealth {
  version: string;
  store: { kind: string; url: string };
  artifact_root: string;
  counts: {
    runs: number;
    models: number;
    model_versions: number;
    deployments: number;
    monitors: number;
    alerts: number;
  };
}

/** One page of a paginated list endpoint. */
export interface IPage<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
}

/** Query parameters common to every paginated list endpoint. */
export interface IPageQuery {
  offset?: number;
  limit?: number;
}

export type RunStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'timed_out';

/** Live progress of a run, as `GET runs` reports it. */
export interface IRunProgress {
  cells_done: number | null;
  cells_total: number | null;
  current_cell: number | null;
}

export interface IRunError {
  cell_index: number | null;
  ename: string;
  evalue: string;
}

/** A notebook run (`GET runs`). Times are ISO-8601 strings. */
export interface IRun {
  id: string;
  kind: string;
  notebook_path: string;
  status: RunStatus;
  parameters: Record<string, unknown>;
  metrics: Record<string, number>;
  tags: string[];
  kernel_name: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  progress: IRunProgress | null;
  error: IRunError | null;
  group_id: string | null;
  created_by: string | null;
  /** Why the run is in its state (e.g. "server restarted"), when known. */
  status_reason?: string | null;
  /** The output notebook under the root, once it was opened/materialised. */
  output_notebook_path?: string | null;
  output_notebook_sha256?: string | null;
  reproduces_run_id?: string | null;
}

export interface IRunsQuery extends IPageQuery {
  status?: RunStatus;
  notebook?: string;
}

/** A registered model (`GET models`). */
export interface IModel {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  latest_version: number | null;
  version_count: number;
  aliases: Record<string, number>;
  created_at: string;
  updated_at: string;
}

export interface IModelsQuery extends IPageQuery {
  q?: string;
}

/** A deployment of a model version (`GET deployments`). */
export interface IDeployment {
  id: string;
  name: string;
  model_name: string;
  model_ref: string;
  version: number;
  target: 'local' | 'docker' | 'kubernetes' | string;
  status: string;
  url: string | null;
  created_at: string;
  updated_at: string;
  status_reason: string | null;
}

export type MonitorStatus = 'ok' | 'drift' | 'alert' | 'unknown';

/** A drift monitor on a deployment (`GET drift/monitors`). */
export interface IMonitor {
  id: string;
  deployment_id: string;
  deployment_name: string;
  model_ref: string;
  status: MonitorStatus;
  last_checked_at: string | null;
  drift_share: number | null;
  open_alerts: number;
}

/** The error body every API handler answers with on 4xx/5xx. */
export interface IErrorBody {
  error: { code: string; message: string };
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * A non-2xx answer from the MLOps API.
 *
 * `message` is the server's own message when the body follows the API's
 * error shape, so it can be shown to the user as is.
 */
export class MLOpsAPIError extends ServerConnection.ResponseError {
  /**
   * @param response The HTTP response.
   * @param message The message to show (the server's message when present).
   * @param code The machine-readable error code (`not_found`, …), or
   *   `http_<status>` when the body had none.
   */
  constructor(response: Response, message: string, code: string) {
    super(response, message);
    this.name = 'MLOpsAPIError';
    this.code = code;
  }

  /** Machine-readable error code from the body, e.g. `not_found`. */
  readonly code: string;

  /** HTTP status of the answer. */
  get status(): number {
    return this.response.status;
  }
}

/**
 * Pull a human-readable message and code out of an error body.
 *
 * Understands the API's `{"error": {"code", "message"}}`, Jupyter server's
 * default `{"message": "...", "reason": "..."}` and a bare string.
 *
 * @param body The parsed JSON body (or raw text) of the answer.
 * @param status HTTP status, used for the fallback code.
 * @param statusText HTTP status text, used for the fallback message.
 * @returns The message and code to put on the error.
 */
export function parseErrorBody(
  body: unknown,
  status: number,
  statusText = ''
): { message: string; code: string } {
  const fallbackCode = `http_${status}`;
  const fallbackMessage = `Request failed with status ${status}${
    statusText ? ` ${statusText}` : ''
  }.`;
  if (isRecord(body)) {
    const err = body.error;
    if (isRecord(err)) {
      const message = nonEmptyString(err.message) ?? fallbackMessage;
      const code = nonEmptyString(err.code) ?? fallbackCode;
      return { message, code };
    }
    const message =
      nonEmptyString(err) ??
      nonEmptyString(body.message) ??
      nonEmptyString(body.reason);
    if (message) {
      return { message, code: fallbackCode };
    }
  } else if (typeof body === 'string') {
    // Non-JSON bodies are HTML error pages from tornado; never show those.
    const text = body.trim();
    if (text && !text.startsWith('<') && text.length <= 500) {
      return { message: text, code: fallbackCode };
    }
  }
  return { message: fallbackMessage, code: fallbackCode };
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/** Values accepted in a query string; `undefined`/`null`/`''` are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/**
 * Build the full URL of an API endpoint.
 *
 * @param endPoint Path below `/mlops/api/`, e.g. `runs` or `drift/monitors`,
 *   optionally with a `?query` (see {@link withQuery}), kept as is.
 * @param baseUrl The server's base URL (`settings.baseUrl`).
 * @returns e.g. `http://host/base/mlops/api/runs?offset=0&limit=50`.
 */
export function apiUrl(endPoint: string, baseUrl: string): string {
  const q = endPoint.indexOf('?');
  const path = q === -1 ? endPoint : endPoint.slice(0, q);
  const search = q === -1 ? '' : endPoint.slice(q);
  return URLExt.join(baseUrl, ...API_NAMESPACE, path) + search;
}

/**
 * Call the MLOps API and return its JSON answer.
 *
 * @param endPoint Path below `/mlops/api/` (e.g. `runs?offset=0&limit=50`).
 * @param init Fetch options; a string `body` is sent as JSON.
 * @param settings Server connection settings (defaults to the page's).
 * @returns The parsed JSON body (`undefined` for an empty body / 204).
 * @throws {MLOpsAPIError} When the server answers with a non-2xx status; its
 *   `message` is the server's message and `status`/`code` identify the error.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 * @throws {ServerConnection.ResponseError} When a 2xx answer is not JSON.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = apiUrl(endPoint, settings.baseUrl);
  const response = await ServerConnection.makeRequest(url, init, settings);

  let text = '';
  try {
    text = await response.text();
  } catch (reason) {
    if (response.ok) {
      throw new ServerConnection.ResponseError(
        response,
        `Could not read the answer of ${endPoint}: ${String(reason)}`
      );
    }
  }
  let body: unknown = text;
  let isJSON = false;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
      isJSON = true;
    } catch {
      // Keep the raw text; handled below.
    }
  }

  if (!response.ok) {
    const { message, code } = parseErrorBody(
      body,
      response.status,
      response.statusText
    );
    throw new MLOpsAPIError(response, message, code);
  }
  if (text.length === 0) {
    return undefined as T;
  }
  if (!isJSON) {
    throw new ServerConnection.ResponseError(
      response,
      `The server's answer to ${endPoint} is not JSON.`
    );
  }
  return body as T;
}

/**
 * Build an endpoint with a query string (empty values are dropped).
 *
 * @param path Path below `/mlops/api/`.
 * @param query Query parameters.
 * @returns e.g. `runs?offset=50&limit=50&status=failed`.
 */
export function withQuery(
  path: string,
  query: Record<string, QueryValue> = {}
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.set(key, String(value));
    }
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * `GET health`.
 *
 * @throws {MLOpsAPIError} 404 when the server extension is not enabled.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function getHealth(
  settings?: ServerConnection.ISettings
): Promise<IHealth> {
  return requestAPI<IHealth>('health', {}, settings);
}

/**
 * `GET runs` — one page of runs, newest first.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer (404 while the endpoint does not exist).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listRuns(
  query: IRunsQuery = {},
  settings?: ServerConnection.ISettings
): Promise<IPage<IRun>> {
  return requestAPI<IPage<IRun>>(
    withQuery('runs', { ...query }),
    {},
    settings
  );
}

/**
 * `GET models` — one page of registered models.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listModels(
  query: IModelsQuery = {},
  settings?: ServerConnection.ISettings
): Promise<IPage<IModel>> {
  return requestAPI<IPage<IModel>>(
    withQuery('models', { ...query }),
    {},
    settings
  );
}

/**
 * `GET deployments` — one page of deployments.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listDeployments(
  query: IPageQuery = {},
  settings?: ServerConnection.ISettings
): Promise<IPage<IDeployment>> {
  return requestAPI<IPage<IDeployment>>(
    withQuery('deployments', { ...query }),
    {},
    settings
  );
}

/**
 * `GET drift/monitors` — one page of drift monitors.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listMonitors(
  query: IPageQuery = {},
  settings?: ServerConnection.ISettings
): Promise<IPage<IMonitor>> {
  return requestAPI<IPage<IMonitor>>(
    withQuery('drift/monitors', { ...query }),
    {},
    settings
  );
}

// ---------------------------------------------------------------------------
// Error display
// ---------------------------------------------------------------------------

/**
 * Whether an error is a 404 from the API (endpoint or resource missing).
 */
export function isNotFound(err: unknown): boolean {
  return err instanceof MLOpsAPIError && err.status === 404;
}

/**
 * The message to show a user for any error thrown by this module.
 *
 * @param err What was thrown.
 * @returns The server's message for API errors, a "cannot reach" sentence for
 *   network errors, else the error's own message.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof ServerConnection.NetworkError) {
    return `Could not reach the Jupyter server: ${err.message}`;
  }
  if (err instanceof Error) {
    return err.message || String(err);
  }
  return String(err);
}

/**
 * Show an error to the user as a JupyterLab notification.
 *
 * @param err What was thrown (typically by {@link requestAPI}).
 * @param context Optional prefix saying what failed, e.g. `Loading runs`.
 * @returns The notification id.
 */
export function showError(err: unknown, context?: string): string {
  const message = errorMessage(err);
  return Notification.error(context ? `${context}: ${message}` : message, {
    autoClose: false
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}
