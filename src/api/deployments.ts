/**
 * Client of the serving routes: deployments (`/mlops/api/deployments…`: list,
 * detail with traffic statistics, stop/restart, logs, canary/shadow split) and
 * one-click deploy jobs (`/mlops/api/deploy/notebook`, `/mlops/api/deploy/jobs/{id}`).
 *
 * The resource types below are hand-written from `serving/service.py`
 * (`to_dict`, `stats`) and the one-click deploy workflow's job record until the
 * server describes these routes in its OpenAPI document; then each becomes an
 * alias of its generated type, see "Resources". One name per field: a
 * deployment's model is `model`.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  getJSON,
  IPage,
  IPageQuery,
  segment,
  sendJSON,
  withQuery
} from './request';

// ---------------------------------------------------------------------------
// Resources (phase 2: each one an alias of its generated schema)
// ---------------------------------------------------------------------------

/** `stats` of a deployment (from its /metrics and its prediction log). */
export interface IDeploymentStats {
  predictions: number;
  requests: number | null;
  errors: number | null;
  error_rate: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  source: string;
}

/** A deployment's traffic configuration. */
export interface IDeploymentConfig {
  canary?: { version: number; percent: number };
  shadow?: { version: number };
  [key: string]: unknown;
}

/** A deployment as `GET deployments` / `GET deployments/{id}` return it. */
export interface IDeployment {
  id: string;
  name: string;
  /** The registered model's name. */
  model: string;
  model_ref: string;
  /** The alias the deployment follows (`churn@production`), or null when pinned. */
  follows_alias: string | null;
  version: number;
  target: 'local' | 'docker' | 'kubernetes' | string;
  status: string;
  status_reason: string | null;
  url: string | null;
  port: number | null;
  pid: number | null;
  image: string | null;
  context_dir: string | null;
  manifest_path: string | null;
  challenger_version: number | null;
  config: IDeploymentConfig;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  stats?: IDeploymentStats;
}

/** `GET deployments/{id}/logs` */
export interface IDeploymentLogs {
  id: string;
  tail: number;
  text: string;
}

export type DeployStepName = 'run' | 'register' | 'serve' | 'healthy';
export type DeployStepStatus =
  | 'pending'
  | 'running'
  | 'done'
  | 'skipped'
  | 'failed';

/** One step of a one-click deploy job. */
export interface IDeployStep {
  name: DeployStepName | string;
  status: DeployStepStatus | string;
  detail: string;
  started_at: string | null;
  finished_at: string | null;
}

/** `POST deploy/notebook` (202) and `GET deploy/jobs/{id}`. */
export interface IDeployJob {
  id: string;
  notebook_path: string;
  parameters: Record<string, unknown>;
  target: string;
  status: 'running' | 'succeeded' | 'failed' | string;
  steps: IDeployStep[];
  run_id: string | null;
  model: string | null;
  version: number | null;
  deployment_id: string | null;
  url: string | null;
  curl: string | null;
  error: string | null;
  created_by: string;
  created_at: string;
  finished_at: string | null;
}

// ---------------------------------------------------------------------------
// Request bodies (phase 2: aliases of the generated request models)
// ---------------------------------------------------------------------------

/** `PUT deployments/{id}/canary`: `{}` (or percent 0) removes the challenger. */
export interface ICanaryRequest {
  version?: number;
  percent?: number;
  shadow?: boolean;
}

/** `POST deploy/notebook` body. */
export interface IDeployNotebookRequest {
  path: string;
  parameters?: Record<string, unknown>;
  target?: string;
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function deploymentPath(id: string): string {
  return `deployments/${segment(id)}`;
}

/**
 * `GET deployments` — one page of deployments.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listDeployments(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IDeployment>> {
  return getJSON<IPage<IDeployment>>(withQuery('deployments', query), settings);
}

/** `GET deployments/{id}` (with `stats`). */
export function getDeployment(
  id: string,
  settings?: Settings
): Promise<IDeployment> {
  return getJSON<IDeployment>(deploymentPath(id), settings);
}

/** `POST deployments/{id}/stop` or `…/restart`. */
export function deploymentAction(
  id: string,
  action: 'stop' | 'restart',
  settings?: Settings
): Promise<IDeployment> {
  return sendJSON<IDeployment>(
    'POST',
    `${deploymentPath(id)}/${action}`,
    {},
    settings
  );
}

/** `GET deployments/{id}/logs?tail=` — the last `tail` lines of its log. */
export function getDeploymentLogs(
  id: string,
  tail = 200,
  settings?: Settings
): Promise<IDeploymentLogs> {
  return getJSON<IDeploymentLogs>(
    withQuery(`${deploymentPath(id)}/logs`, { tail }),
    settings
  );
}

/** `PUT deployments/{id}/canary`: `{}` (or percent 0) removes the challenger. */
export function setCanary(
  id: string,
  body: ICanaryRequest,
  settings?: Settings
): Promise<IDeployment> {
  return sendJSON<IDeployment>(
    'PUT',
    `${deploymentPath(id)}/canary`,
    body,
    settings
  );
}

/** `POST deploy/notebook` — 202 with the job, which goes on on the server. */
export function deployNotebook(
  body: IDeployNotebookRequest,
  settings?: Settings
): Promise<IDeployJob> {
  return sendJSON<IDeployJob>('POST', 'deploy/notebook', body, settings);
}

/** `GET deploy/jobs/{id}` — 404 once the server no longer knows the job. */
export function getDeployJob(
  jobId: string,
  settings?: Settings
): Promise<IDeployJob> {
  return getJSON<IDeployJob>(`deploy/jobs/${segment(jobId)}`, settings);
}
