/**
 * Client of the runs routes (`/mlops/api/runs…`, `/mlops/api/notebooks/parameters`):
 * notebook runs, their detail (provenance, reproduction comparison), sweeps, and
 * the parameters a notebook declares.
 *
 * The resource types below are hand-written from `runs/service.py`
 * (`run_to_dict`, `group_to_dict`), `runs/parameters.py` (`describe_notebook`)
 * and `runs/comparison.py` (`compare_runs`) until the server describes these
 * routes in its OpenAPI document; then each becomes an alias of its generated
 * type (`export type IRun = components['schemas']['Run']`), see "Resources".
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

/** Where a failed run failed. */
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
  input_notebook_sha256?: string | null;
  reproduces_run_id?: string | null;
  timeout_seconds?: number | null;
  input_files?: string[];
  trigger?: string;
  executor?: string | null;
  host?: string | null;
}

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

/** One artifact a run logged. */
export interface IRunArtifact {
  name: string;
  sha256: string;
  size: number;
  kind: string;
}

/** `GET runs/{id}`: a run with everything recorded about it. */
export interface IRunDetail extends IRun {
  provenance: IProvenance | null;
  comparison: IComparison | null;
  logged_params?: Record<string, unknown>;
  artifacts?: IRunArtifact[];
}

/** A sweep (group of runs over a parameter grid, `GET runs/sweeps`). */
export interface ISweep {
  id: string;
  name: string;
  notebook_path: string;
  grid: Record<string, unknown[]>;
  metric: string | null;
  mode: 'max' | 'min';
  created_by: string | null;
  created_at: string;
  status: 'running' | 'finished';
  counts: Record<string, number>;
  total: number;
  best: {
    run_id: string;
    value: number;
    parameters: Record<string, unknown>;
  } | null;
}

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

/** One parameter of a notebook's `parameters` cell (papermill inference). */
export interface IParameterSpec {
  name: string;
  type: ParameterType | string;
  /** The annotation as written (`float`, `List[int]`), or null. */
  declared_type: string | null;
  /** The default as JSON when it is a literal, else its source text. */
  default: unknown;
  default_source: string;
  /** The comment after the assignment (`alpha = 0.1  # learning rate`). */
  help: string;
}

/** `GET notebooks/parameters?path=` */
export interface INotebookParameters {
  path: string;
  has_parameters_cell: boolean;
  parameters_cell_index: number | null;
  parameters: IParameterSpec[];
  kernel_name: string | null;
  kernel_display_name: string | null;
  language: string | null;
  /** How to add a parameters cell, when there is none. */
  hint: string | null;
}

/** `POST runs/{id}/output` */
export interface IRunOutput {
  output_notebook_path: string;
}

// ---------------------------------------------------------------------------
// Request bodies and queries (phase 2: aliases of the generated request models)
// ---------------------------------------------------------------------------

/** `POST runs` body. */
export interface ISubmitRun {
  notebook_path: string;
  parameters?: Record<string, unknown>;
  kernel_name?: string;
  timeout?: number;
  tags?: string[];
}

/** Filters of `GET runs` (empty values are left out), newest first. */
export interface IRunsQuery extends IPageQuery {
  /** Substring of the notebook path. */
  notebook?: string;
  status?: RunStatus | '';
  /** Runs of one sweep. */
  group_id?: string;
}

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
