/**
 * Client of the runs routes (`/mlops/api/runs…`, `/mlops/api/notebooks/parameters`):
 * notebook runs, their detail (provenance, reproduction comparison), sweeps, and
 * the parameters a notebook declares.
 *
 * Every resource type is an alias of the type generated from the server's
 * OpenAPI document (`schema.d.ts`, `jlpm generate:api`), so a field renamed on
 * the server breaks the build here. The free-form parts the server describes
 * as plain objects (a run's provenance, a reproduction's comparison) keep the
 * hand-written shapes below, from `runs/provenance.py` and `runs/comparison.py`.
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

/** A notebook run (`GET runs`). Times are ISO-8601 strings. */
export type IRun = Schemas['Run'];

/** The states of a run, in lifecycle order (see {@link RUN_STATUSES}). */
export type RunStatus = IRun['status'];

/** Live progress of a run, as `GET runs` reports it. */
export type IRunProgress = Schemas['RunProgress'];

/** Where a failed run failed. */
export type IRunError = Schemas['RunError'];

/** One artifact a run logged. */
export type IRunArtifact = Schemas['RunArtifact'];

/**
 * `GET runs/{id}`: a run with everything recorded about it; its free-form
 * `provenance` and `comparison` typed by the shapes below.
 */
export type IRunDetail = Omit<Schemas['RunDetail'], 'provenance' | 'comparison'> & {
  provenance: IProvenance;
  comparison: IComparison | null;
};

/** A sweep (group of runs over a parameter grid, `GET runs/sweeps`). */
export type ISweep = Schemas['SweepSummary'];

/** One parameter of a notebook's `parameters` cell (papermill inference). */
export type IParameterSpec = Schemas['NotebookParameter'];

/** `GET notebooks/parameters?path=` */
export type INotebookParameters = Schemas['NotebookParameters'];

/** `POST runs/{id}/output` */
export type IRunOutput = Schemas['OutputLocation'];

/** `GET runs/{id}/live`: the cells a run executed so far (changed after `after`). */
export type ILiveOutput = Schemas['LiveOutput'];

/** One cell of a running notebook, with its nbformat outputs. */
export type ILiveCell = Schemas['LiveCell'];

/** Types the server infers for a parameter (`runs/parameters.py: KNOWN_TYPES` + `any`). */
export type ParameterType =
  | 'int'
  | 'float'
  | 'bool'
  | 'str'
  | 'list'
  | 'dict'
  | 'NoneType'
  | 'any';

// ---------------------------------------------------------------------------
// Free-form parts (hand-written: the server describes them as plain objects)
// ---------------------------------------------------------------------------

/** A run's provenance (`IRunDetail.provenance`). */
export interface IProvenance {
  notebook_sha256?: string | null;
  parameters?: Record<string, unknown>;
  kernel?: {
    name?: string | null;
    language?: string;
    language_version?: string;
  };
  python?: { version?: string; executable?: string };
  packages?: Record<string, string>;
  platform?: {
    system?: string;
    release?: string;
    machine?: string;
    hostname?: string;
  };
  git?: {
    commit?: string | null;
    branch?: string | null;
    dirty?: boolean | null;
    root?: string | null;
  } | null;
  inputs?: Record<string, string>;
  user?: string;
  [key: string]: unknown;
}

/** `{added, removed, changed}` between two mappings. */
export interface IDictDiff<T = unknown> {
  added: Record<string, T>;
  removed: Record<string, T>;
  changed: Record<string, { original: T; reproduced: T }>;
}

/** One code cell in a reproduce comparison. */
export interface ICellComparison {
  code_cell: number;
  source: string;
  match: boolean;
  diff?: string;
}

/** What a reproduction found (stored on the reproducing run when it ends). */
export interface IComparison {
  original_run_id: string;
  outputs_match: boolean;
  outputs: {
    match: boolean;
    matched: number;
    total: number;
    cells: ICellComparison[];
    note?: string;
  };
  environment: {
    same: boolean;
    notebook_sha256_equal: boolean;
    packages: IDictDiff<string>;
    git: Record<string, { original: unknown; reproduced: unknown }>;
    inputs: IDictDiff<string>;
    [section: string]: unknown;
  };
}

// ---------------------------------------------------------------------------
// Request bodies and queries (generated; the server's defaults are optional)
// ---------------------------------------------------------------------------

/** `POST runs` body. */
export type ISubmitRun = Schemas['SubmitRun'];

/** Filters of `GET runs` (empty values are left out), newest first. */
export type IRunsQuery = Schemas['RunListQuery'];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Every run state, in lifecycle order. */
export const RUN_STATUSES: RunStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out'
];

/** States a run can still leave (the list polls quickly while one is shown). */
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'running'
]);

/** Whether a run is queued or running. */
export function isActive(run: Pick<IRun, 'status'>): boolean {
  return ACTIVE_STATUSES.has(run.status);
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function runPath(id: string): string {
  return `runs/${segment(id)}`;
}

/**
 * `GET runs` — one page of runs, newest first, with the Runs tab's filters.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer (404 while the endpoint does not exist).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listRuns(
  query: IRunsQuery = {},
  settings?: Settings
): Promise<IPage<IRun>> {
  return getJSON<IPage<IRun>>(withQuery('runs', query), settings);
}

/** The notebook's latest successful run, or null (the deploy pre-check). */
export async function latestSuccessfulRun(
  path: string,
  settings?: Settings
): Promise<IRun | null> {
  const page = await listRuns(
    { notebook: path, status: 'succeeded', offset: 0, limit: 1 },
    settings
  );
  return page.items[0] ?? null;
}

/** `GET runs/{id}` */
export function getRun(id: string, settings?: Settings): Promise<IRunDetail> {
  return getJSON<IRunDetail>(runPath(id), settings);
}

/** `GET runs/{id}/live?after=seq` — the cells written since `after` (0: all). */
export function getLiveOutput(
  id: string,
  after: number,
  settings?: Settings
): Promise<ILiveOutput> {
  return getJSON<ILiveOutput>(withQuery(`${runPath(id)}/live`, { after }), settings);
}

/** `POST runs` — 201 with the queued run; 400 naming a bad parameter. */
export function submitRun(body: ISubmitRun, settings?: Settings): Promise<IRun> {
  return sendJSON<IRun>('POST', 'runs', body, settings);
}

/** `POST runs/{id}/cancel` */
export function cancelRun(id: string, settings?: Settings): Promise<IRun> {
  return sendJSON<IRun>('POST', `${runPath(id)}/cancel`, undefined, settings);
}

/** `POST runs/{id}/reproduce` — the new (queued) run reproducing `id`. */
export function reproduceRun(
  id: string,
  settings?: Settings
): Promise<IRunDetail> {
  return sendJSON<IRunDetail>(
    'POST',
    `${runPath(id)}/reproduce`,
    undefined,
    settings
  );
}

/** `POST runs/{id}/output` — writes the output notebook under the root; its path. */
export async function materializeOutput(
  id: string,
  settings?: Settings
): Promise<string> {
  const answer = await sendJSON<IRunOutput>(
    'POST',
    `${runPath(id)}/output`,
    undefined,
    settings
  );
  return answer.output_notebook_path;
}

/** `GET runs/sweeps` — newest first. */
export function listSweeps(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<ISweep>> {
  return getJSON<IPage<ISweep>>(withQuery('runs/sweeps', query), settings);
}

/**
 * `GET notebooks/parameters?path=` — the parameters the run and deploy dialogs
 * build their forms from.
 */
export function getNotebookParameters(
  path: string,
  settings?: Settings
): Promise<INotebookParameters> {
  return getJSON<INotebookParameters>(
    withQuery('notebooks/parameters', { path }),
    settings
  );
}
