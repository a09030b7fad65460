/**
 * Client of the serving routes: deployments (`/mlops/api/deployments…`: list,
 * detail with traffic statistics, stop/restart, logs, canary/shadow split) and
 * one-click deploy jobs (`/mlops/api/deploy/notebook`, `/mlops/api/deploy/jobs/{id}`).
 *
 * Every type is an alias of the type generated from the server's OpenAPI
 * document (`schema.d.ts`, `jlpm generate:api`). One name per field: a
 * deployment's model is `model`.
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  getJSON,
  IPage,
  segment,
  sendJSON,
  withQuery
} from './request';
import type { components } from './schema';

type Schemas = components['schemas'];

// ---------------------------------------------------------------------------
// Resources (generated)
// ---------------------------------------------------------------------------

/** `stats` of a deployment (from its /metrics and its prediction log). */
export type IDeploymentStats = Schemas['DeploymentStats'];

/** A deployment's serving and traffic configuration (canary, shadow, workers…). */
export type IDeploymentConfig = Schemas['DeploymentConfig'];

/** A deployment (`POST deployments`, and the stop / restart / canary answers). */
export type IDeployment = Schemas['Deployment'];

/** One model a multi-model deployment hosts (`/models/{name}/predict`). */
export type IHostedModel = Schemas['DeploymentModel'];

/** `GET deployments/{id}`: a deployment with its traffic statistics. */
export type IDeploymentWithStats = Schemas['DeploymentWithStats'];

/** One item of `GET deployments`: with `stats` unless they were not asked for (`stats=0`). */
export type IDeploymentListItem = IDeployment | IDeploymentWithStats;

/** A deployment's traffic statistics, when the answer has them. */
export function deploymentStats(deployment: IDeploymentListItem): IDeploymentStats | null {
  return 'stats' in deployment ? deployment.stats : null;
}

/** `GET deployments/{id}/logs` */
export type IDeploymentLogs = Schemas['DeploymentLogs'];

/** One step of a one-click deploy job. */
export type IDeployStep = Schemas['DeployStep'];

/** The steps of a one-click deploy, in order. */
export type DeployStepName = 'run' | 'register' | 'serve' | 'healthy';

/** States of a deploy step. */
export type DeployStepStatus = IDeployStep['status'];

/** `POST deploy/notebook` (202) and `GET deploy/jobs/{id}`. */
export type IDeployJob = Schemas['DeployJob'];

// ---------------------------------------------------------------------------
// Request bodies and queries (generated; the server's defaults are optional)
// ---------------------------------------------------------------------------

/** `PUT deployments/{id}/canary`: `{}` (or percent 0) removes the challenger. */
export type ICanaryRequest = Schemas['CanaryUpdate'];

/** `POST deploy/notebook` body. */
export type IDeployNotebookRequest = Schemas['DeployNotebook'];

/** Where a one-click deploy serves the model. */
export type DeployTarget = NonNullable<IDeployNotebookRequest['target']>;

/** The share of traffic a canary gets when its split names none (the server's default). */
export const DEFAULT_CANARY_PERCENT = 10;

/** `GET deployments` filters. */
export type IDeploymentsQuery = Schemas['DeploymentsQuery'];

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
  query: IDeploymentsQuery = {},
  settings?: Settings
): Promise<IPage<IDeploymentListItem>> {
  return getJSON<IPage<IDeploymentListItem>>(withQuery('deployments', query), settings);
}

/** `GET deployments/{id}` (with `stats`). */
export function getDeployment(
  id: string,
  settings?: Settings
): Promise<IDeploymentWithStats> {
  return getJSON<IDeploymentWithStats>(deploymentPath(id), settings);
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
