/**
 * Client of the drift monitoring routes (`/mlops/api/drift/…`): monitors on
 * deployments, their stored checks (with per-feature results), "check now",
 * and alerts with acknowledgement.
 *
 * The resource types below are hand-written from `drift/monitor.py`
 * (`to_dict`, `result_dict`, `alert_dict`) until the server describes these
 * routes in its OpenAPI document; then each becomes an alias of its generated
 * type, see "Resources".
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

/** The states a monitor reports. */
export type MonitorStatus =
  | 'unknown'
  | 'ok'
  | 'drift'
  | 'alert'
  | 'insufficient_data'
  | 'disabled';

/** A drift monitor on a deployment (`GET drift/monitors`, `GET drift/monitors/{id}`). */
export interface IMonitor {
  id: string;
  deployment_id: string;
  deployment_name: string | null;
  model_ref: string | null;
  model_name: string | null;
  model_version: number | null;
  deployment_status: string | null;
  status: MonitorStatus | string;
  enabled: boolean;
  interval_seconds: number;
  last_checked_at: string | null;
  drift_share: number | null;
  drifted: boolean | null;
  latest_result_id: number | null;
  open_alerts: number;
  created_at: string;
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
}

/** `GET drift/results/{id}`: a stored check with its per-feature results. */
export interface IDriftResultDetail extends IDriftResult {
  columns: IDriftColumn[];
}

/** A drift alert (`GET drift/alerts`). */
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

/** `POST drift/monitors/{id}/check`: what one check found. */
export interface ICheckResult {
  monitor_id: string;
  status: MonitorStatus | string;
  /** Why no result was stored (e.g. too few predictions in the window). */
  message?: string;
  result: IDriftResult | null;
  alerts: IAlert[];
}

// ---------------------------------------------------------------------------
// Queries (phase 2: aliases of the generated query models)
// ---------------------------------------------------------------------------

/** `GET drift/alerts` filters. */
export interface IAlertsQuery extends IPageQuery {
  monitor_id?: string;
  acknowledged?: boolean;
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function monitorPath(id: string): string {
  return `drift/monitors/${segment(id)}`;
}

/**
 * `GET drift/monitors` — one page of drift monitors.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listMonitors(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IMonitor>> {
  return getJSON<IPage<IMonitor>>(withQuery('drift/monitors', query), settings);
}

/** `GET drift/monitors/{id}` */
export function getMonitor(id: string, settings?: Settings): Promise<IMonitor> {
  return getJSON<IMonitor>(monitorPath(id), settings);
}

/** `GET drift/monitors/{id}/results` — the latest `limit` checks, newest first. */
export function listDriftResults(
  monitorId: string,
  limit = 100,
  settings?: Settings
): Promise<IPage<IDriftResult>> {
  return getJSON<IPage<IDriftResult>>(
    withQuery(`${monitorPath(monitorId)}/results`, { offset: 0, limit }),
    settings
  );
}

/** `GET drift/results/{id}` — with the per-feature `columns`. */
export function getDriftResult(
  resultId: number,
  settings?: Settings
): Promise<IDriftResultDetail> {
  return getJSON<IDriftResultDetail>(`drift/results/${resultId}`, settings);
}

/** `POST drift/monitors/{id}/check`: runs one check now. */
export function checkMonitor(
  monitorId: string,
  settings?: Settings
): Promise<ICheckResult> {
  return sendJSON<ICheckResult>(
    'POST',
    `${monitorPath(monitorId)}/check`,
    {},
    settings
  );
}

/** `GET drift/alerts` — newest first. */
export function listAlerts(
  query: IAlertsQuery = {},
  settings?: Settings
): Promise<IPage<IAlert>> {
  return getJSON<IPage<IAlert>>(withQuery('drift/alerts', query), settings);
}

/** `POST drift/alerts/{id}/ack` */
export function acknowledgeAlert(
  alertId: number,
  settings?: Settings
): Promise<IAlert> {
  return sendJSON<IAlert>('POST', `drift/alerts/${alertId}/ack`, {}, settings);
}
