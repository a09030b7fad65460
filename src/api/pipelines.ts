/**
 * Client of the pipeline run routes (`/mlops/api/pipelines/runs…`): start a
 * `*.pipeline.yaml`, follow its steps, cancel it, repair it (re-run the failed
 * and cancelled steps and everything downstream, reusing the outputs of the
 * steps that succeeded, as a new attempt of the same pipeline run).
 *
 * Every type is an alias of the type generated from the server's OpenAPI
 * document (`schema.d.ts`, `jlpm generate:api`).
 */
import { ServerConnection } from '@jupyterlab/services';

import { getJSON, IPage, segment, sendJSON, withQuery } from './request';
import type { components } from './schema';

type Schemas = components['schemas'];

// ---------------------------------------------------------------------------
// Resources (generated)
// ---------------------------------------------------------------------------

/** A pipeline run with its steps (`GET pipelines/runs/{id}`). */
export type IPipelineRun = Schemas['PipelineRun'];

/** One step of a pipeline run: a notebook run, with its attempt, tries and outputs. */
export type IPipelineStep = Schemas['PipelineStep'];

/** States of a pipeline run. */
export type PipelineRunStatus = IPipelineRun['status'];

/** States of a step (`skipped`: an upstream step failed). */
export type PipelineStepStatus = IPipelineStep['status'];

// ---------------------------------------------------------------------------
// Request bodies and queries (generated; the server's defaults are optional)
// ---------------------------------------------------------------------------

/** `POST pipelines/runs` body. */
export type IPipelineRunCreate = Schemas['PipelineRunCreate'];

/** `GET pipelines/runs` query (`pipeline_path`: the runs of one pipeline file). */
export type IPipelineRunsQuery = Schemas['PipelineRunQuery'];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** How a pipeline file's name ends. */
export const PIPELINE_SUFFIX = '.pipeline.yaml';

/** Whether `path` names a pipeline file (`*.pipeline.yaml`). */
export function isPipelinePath(path: string): boolean {
  return path.toLowerCase().endsWith(PIPELINE_SUFFIX) && path.length > PIPELINE_SUFFIX.length;
}

/** Whether a pipeline run (or a step) can still change: pending or running. */
export function isPipelineActive(item: { status: string }): boolean {
  return item.status === 'pending' || item.status === 'running';
}

/** Whether `POST …/repair` is allowed (the server answers 409 otherwise). */
export function canRepair(run: Pick<IPipelineRun, 'status'>): boolean {
  return run.status === 'failed' || run.status === 'cancelled';
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function pipelineRunPath(id: string): string {
  return `pipelines/runs/${segment(id)}`;
}

/**
 * `GET pipelines/runs` — one page of pipeline runs, newest first.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listPipelineRuns(
  query: IPipelineRunsQuery = {},
  settings?: Settings
): Promise<IPage<IPipelineRun>> {
  return getJSON<IPage<IPipelineRun>>(withQuery('pipelines/runs', query), settings);
}

/** `GET pipelines/runs/{id}` */
export function getPipelineRun(id: string, settings?: Settings): Promise<IPipelineRun> {
  return getJSON<IPipelineRun>(pipelineRunPath(id), settings);
}

/**
 * `POST pipelines/runs` — 201 with the run, its first steps already submitted.
 *
 * @throws {MLOpsAPIError} 400 naming what is wrong with the pipeline file or the
 *   parameters; 404 when the file does not exist.
 */
export function startPipelineRun(
  body: IPipelineRunCreate,
  settings?: Settings
): Promise<IPipelineRun> {
  return sendJSON<IPipelineRun>('POST', 'pipelines/runs', body, settings);
}

/** `POST pipelines/runs/{id}/cancel` — cancels the running steps; the rest never start. */
export function cancelPipelineRun(id: string, settings?: Settings): Promise<IPipelineRun> {
  return sendJSON<IPipelineRun>('POST', `${pipelineRunPath(id)}/cancel`, {}, settings);
}

/**
 * `POST pipelines/runs/{id}/repair` — a new attempt of a failed or cancelled run.
 *
 * @throws {MLOpsAPIError} 409 unless the run failed or was cancelled (see {@link canRepair}).
 */
export function repairPipelineRun(id: string, settings?: Settings): Promise<IPipelineRun> {
  return sendJSON<IPipelineRun>('POST', `${pipelineRunPath(id)}/repair`, {}, settings);
}
