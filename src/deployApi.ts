/**
 * REST calls and JSON shapes of one-click deploy, deployments and drift
 * monitoring (`/mlops/api/deploy/…`, `deployments/…`, `drift/…`).
 *
 * The shapes mirror `jupyterlab_mlops/serving/notebook_deploy.py`,
 * `serving/service.py` (`to_dict`, `stats`) and `drift/monitor.py`
 * (`to_dict`, `result_dict`, `alert_dict`).
 */
import { ServerConnection } from '@jupyterlab/services';

import { IPage, IPageQuery, requestAPI, withQuery } from './api';

type Settings = ServerConnection.ISettings | undefined;

// ---------------------------------------------------------------------------
// One-click deploy jobs
// ---------------------------------------------------------------------------

export type DeployStepName = 'run' | 'register' | 'serve' | 'healthy';
export type DeployStepStatus =
  | 'pending'
  | 'running'
  | 'done'
  | 'skipped'
  | 'failed';

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

export function deployNotebook(
  body: {
    path: string;
    parameters?: Record<string, unknown>;
    target?: string;
  },
  settings?: Settings
): Promise<IDeployJob> {
  return requestAPI<IDeployJob>(
    'deploy/notebook',
    { method: 'POST', body: JSON.stringify(body) },
    settings
  );
}

export function getDeployJob(
  jobId: string,
  settings?: Settings
): Promise<IDeployJob> {
  return requestAPI<IDeployJob>(
    `deploy/jobs/${encodeURIComponent(jobId)}`,
    {},
    settings
  );
}

// ---------------------------------------------------------------------------
// Notebook parameters and runs (read only, for the deploy pre-check)
// ---------------------------------------------------------------------------

/** One parameter of the notebook's `parameters` cell (papermill inference). */
export interface INotebookParameter {
  name: string;
  type: string;
  declared_type: string | null;
  default: unknown;
  default_source: string;
  help: string;
}

/** `GET notebooks/parameters?path=`. */
export interface INotebookDescription {
  path: string;
  has_parameters_cell: boolean;
  parameters: INotebookParameter[];
  kernel_name: string | null;
  hint: string | null;
}

export function getNotebookParameters(
  path: string,
  settings?: Settings
): Promise<INotebookDescription> {
  return requestAPI<INotebookDescription>(
    withQuery('notebooks/parameters', { path }),
    {},
    settings
  );
}

/** The few run fields the deploy pre-check needs. */
export interface IRunSummary {
  id: string;
  notebook_path: string;
  status: string;
  created_at: string;
  finished_at: string | null;
}

/** The notebook's latest successful run, or null. */
export async function latestSuccessfulRun(
  path: string,
  settings?: Settings
): Promise<IRunSummary | null> {
  const page = await requestAPI<IPage<IRunSummary>>(
    withQuery('runs', {
      notebook: path,
      status: 'succeeded',
      offset: 0,
      limit: 1
    }),
    {},
    settings
  );
  return page.items[0] ?? null;
}

// ---------------------------------------------------------------------------
// Deployments
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

export interface IDeploymentConfig {
  canary?: { version: number; percent: number };
  shadow?: { version: number };
  [key: string]: unknown;
}

/** A deployment as `GET deployments` / `GET deployments/{id}` return it. */
export interface IDeploymentRecord {
  id: string;
  name: string;
  model: string;
  model_ref: string;
  follows_alias: string | null;
  version: number;
  target: string;
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

export function listDeploymentRecords(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IDeploymentRecord>> {
  return requestAPI<IPage<IDeploymentRecord>>(
    withQuery('deployments', { ...query }),
    {},
    settings
  );
}

export function getDeployment(
  id: string,
  settings?: Settings
): Promise<IDeploymentRecord> {
  return requestAPI<IDeploymentRecord>(
    `deployments/${encodeURIComponent(id)}`,
    {},
    settings
  );
}

export function deploymentAction(
  id: string,
  action: 'stop' | 'restart',
  settings?: Settings
): Promise<IDeploymentRecord> {
  return requestAPI<IDeploymentRecord>(
    `deployments/${encodeURIComponent(id)}/${action}`,
    { method: 'POST', body: '{}' },
    settings
  );
}

export interface IDeploymentLogs {
  id: string;
  tail: number;
  text: string;
}

export function getDeploymentLogs(
  id: string,
  tail = 200,
  settings?: Settings
): Promise<IDeploymentLogs> {
  return requestAPI<IDeploymentLogs>(
    withQuery(`deployments/${encodeURIComponent(id)}/logs`, { tail }),
    {},
    settings
  );
}

/** `PUT deployments/{id}/canary`: `{}` (or percent 0) removes the challenger. */
export function setCanary(
  id: string,
  body: { version?: number; percent?: number; shadow?: boolean },
  settings?: Settings
): Promise<IDeploymentRecord> {
  return requestAPI<IDeploymentRecord>(
    `deployments/${encodeURIComponent(id)}/canary`,
    { method: 'PUT', body: JSON.stringify(body) },
    settings
  );
}

/** The parts of a model version the curl example is built from. */
export interface IVersionSignature {
  name: string;
  version: number;
  signature: ISignature | null;
  profile: {
    columns?: Record<string, { mean?: number | null }>;
  } | null;
}

export interface ISignatureInput {
  name: string;
  dtype?: string;
  kind?: 'numeric' | 'categorical' | 'boolean' | string;
  categories?: unknown[];
}

export interface ISignature {
  input_type?: string;
  inputs?: ISignatureInput[];
  output?: Record<string, unknown>;
}

export function getModelVersion(
  name: string,
  version: number,
  settings?: Settings
): Promise<IVersionSignature> {
  return requestAPI<IVersionSignature>(
    `models/${encodeURIComponent(name)}/versions/${version}`,
    {},
    settings
  );
}

/** Version numbers of a model (newest first), for the canary challenger. */
export async function listVersionNumbers(
  name: string,
  settings?: Settings
): Promise<number[]> {
  const page = await requestAPI<IPage<{ version: number; archived?: boolean }>>(
    withQuery(`models/${encodeURIComponent(name)}/versions`, {
      offset: 0,
      limit: 100,
      archived: 'false'
    }),
    {},
    settings
  );
  return page.items.map(item => item.version);
}

// ---------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------

/** A monitor as `GET drift/monitors` returns it. */
export interface IMonitorRecord {
  id: string;
  deployment_id: string;
  deployment_name: string | null;
  model_ref: string | null;
  model_name: string | null;
  model_version: number | null;
  deployment_status: string | null;
  status: string;
  enabled: boolean;
  interval_seconds: number;
  last_checked_at: string | null;
  drift_share: number | null;
  drifted: boolean | null;
  latest_result_id: number | null;
  open_alerts: number;
  created_at: string;
}

/** One stored drift check (`GET drift/monitors/{id}/results`). */
export interface IDriftResult {
  id: number;
  monitor_id: string;
  model_name: string;
  model_version: number;
  window_start: string | null;
  window_end: string | null;
  n_rows: number;
  drift_share: number;
  drifted: boolean;
  n_drifted: number;
  drifted_columns: string[];
  created_at: string;
  /** Only from `GET drift/results/{id}`. */
  columns?: IDriftColumn[];
}

/** One feature of a drift result. */
export interface IDriftColumn {
  column: string;
  kind?: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  threshold: number | null;
  drifted: boolean;
  mean_shift_pct?: number | null;
  current_missing_rate?: number | null;
}

export interface IAlert {
  id: number;
  monitor_id: string;
  deployment_id: string;
  deployment_name: string | null;
  drift_result_id: number | null;
  rule: string;
  severity: string;
  message: string;
  acknowledged: boolean;
  retrain_run_id: string | null;
  created_at: string;
}

export function listMonitorRecords(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IMonitorRecord>> {
  return requestAPI<IPage<IMonitorRecord>>(
    withQuery('drift/monitors', { ...query }),
    {},
    settings
  );
}

export function listDriftResults(
  monitorId: string,
  limit = 100,
  settings?: Settings
): Promise<IPage<IDriftResult>> {
  return requestAPI<IPage<IDriftResult>>(
    withQuery(`drift/monitors/${encodeURIComponent(monitorId)}/results`, {
      offset: 0,
      limit
    }),
    {},
    settings
  );
}

export function getDriftResult(
  resultId: number,
  settings?: Settings
): Promise<IDriftResult> {
  return requestAPI<IDriftResult>(`drift/results/${resultId}`, {}, settings);
}

/** `POST drift/monitors/{id}/check`: runs one check now. */
export function checkMonitor(
  monitorId: string,
  settings?: Settings
): Promise<{ status: string; message?: string }> {
  return requestAPI<{ status: string; message?: string }>(
    `drift/monitors/${encodeURIComponent(monitorId)}/check`,
    { method: 'POST', body: '{}' },
    settings
  );
}

export function listAlerts(
  query: IPageQuery & { monitor_id?: string; acknowledged?: boolean } = {},
  settings?: Settings
): Promise<IPage<IAlert>> {
  return requestAPI<IPage<IAlert>>(
    withQuery('drift/alerts', { ...query }),
    {},
    settings
  );
}

export function acknowledgeAlert(
  alertId: number,
  settings?: Settings
): Promise<IAlert> {
  return requestAPI<IAlert>(
    `drift/alerts/${alertId}/ack`,
    { method: 'POST', body: '{}' },
    settings
  );
}
