/**
 * Client of the drift monitoring routes (`/mlops/api/drift/…`): monitors on
 * deployments, their stored checks (with per-feature results), "check now",
 * and alerts with acknowledgement.
 *
 * Every type is an alias of the type generated from the server's OpenAPI
 * document (`schema.d.ts`, `jlpm generate:api`).
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
import type { components } from './schema';

type Schemas = components['schemas'];

// ---------------------------------------------------------------------------
// Resources (generated)
// ---------------------------------------------------------------------------

/** The states a monitor reports (the server sends them as a plain string). */
export type MonitorStatus =
  | 'unknown'
  | 'ok'
  | 'drift'
  | 'alert'
  | 'insufficient_data'
  | 'error'
  | 'disabled'
  | 'paused';

/** A drift monitor on a deployment (`GET drift/monitors`, `GET drift/monitors/{id}`). */
export type IMonitor = Schemas['Monitor'];

/** One feature of a drift result. */
export type IDriftColumn = Schemas['ColumnDrift'];

/** One stored drift check (`GET drift/monitors/{id}/results`). */
export type IDriftResult = Schemas['DriftResult'];

/** `GET drift/results/{id}`: a stored check with its per-feature results. */
export type IDriftResultDetail = Schemas['DriftResultDetail'];

/**
 * A chart as a mime bundle (`GET drift/monitors/{id}/chart`): a Vega-Lite spec
 * for JupyterLab's renderer, the same one the notebook's drift widget shows.
 */
export type IChart = Schemas['Chart'];

/** A drift alert (`GET drift/alerts`). */
export type IAlert = Schemas['Alert'];

/** `POST drift/monitors/{id}/check`: what one check found. */
export type ICheckResult = Schemas['CheckOutcome'];

// ---------------------------------------------------------------------------
// Queries (generated)
// ---------------------------------------------------------------------------

/** `GET drift/alerts` filters. */
export type IAlertsQuery = Schemas['AlertsQuery'];

/** `GET drift/monitors` filters (`deployment_id`: that deployment's monitors). */
export type IMonitorsQuery = Schemas['MonitorsQuery'];

/** `PUT drift/monitors/{id}`: only the fields sent change; `config` is replaced whole. */
export type IMonitorUpdate = Schemas['MonitorUpdate'];

/** A monitor's alert thresholds; `null` switches a rule off. */
export type IMonitorRules = Schemas['Rules'];

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
  query: IMonitorsQuery | IPageQuery = {},
  settings?: Settings
): Promise<IPage<IMonitor>> {
  return getJSON<IPage<IMonitor>>(withQuery('drift/monitors', query), settings);
}

/** `GET drift/monitors/{id}` */
export function getMonitor(id: string, settings?: Settings): Promise<IMonitor> {
  return getJSON<IMonitor>(monitorPath(id), settings);
}

/** `PUT drift/monitors/{id}` — change the config, interval or on/off switch. */
export function updateMonitor(
  id: string,
  changes: IMonitorUpdate,
  settings?: Settings
): Promise<IMonitor> {
  return sendJSON<IMonitor>('PUT', monitorPath(id), changes, settings);
}

/** `POST drift/monitors` — a monitor with the default config on a deployment. */
export function createMonitor(
  deploymentId: string,
  settings?: Settings
): Promise<IMonitor> {
  return sendJSON<IMonitor>(
    'POST',
    'drift/monitors',
    { deployment_id: deploymentId },
    settings
  );
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

/** `GET drift/monitors/{id}/chart` — the drift share of the latest `limit` checks. */
export function getDriftChart(
  monitorId: string,
  limit = 100,
  settings?: Settings
): Promise<IChart> {
  return getJSON<IChart>(
    withQuery(`${monitorPath(monitorId)}/chart`, { offset: 0, limit }),
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
