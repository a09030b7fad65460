/**
 * Client of the runs routes (`/mlops/api/runs…`, `/mlops/api/notebooks/parameters`).
 *
 * Shapes follow `jupyterlab_mlops/runs/service.py` (`run_to_dict`, `group_to_dict`),
 * `runs/parameters.py` (`describe_notebook`) and `runs/comparison.py` (`compare_runs`).
 */
import { ServerConnection } from '@jupyterlab/services';

import { IPage, IPageQuery, IRun, requestAPI, RunStatus, withQuery } from './api';

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
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(['queued', 'running']);

/** Whether a run is queued or running. */
export function isActive(run: Pick<IRun, 'status'>): boolean {
  return ACTIVE_STATUSES.has(run.status);
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

/** One parameter of a notebook's `parameters` cell. */
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

/** A run's provenance (`Run.provenance`). */
export interface IProvenance {
  notebook_sha256?: string | null;
  parameters?: Record<string, unknown>;
  kernel?: { name?: string | null; language?: string; language_version?: string };
  python?: { version?: string; executable?: string };
  packages?: Record<string, string>;
  platform?: { system?: string; release?: string; machine?: string; hostname?: string };
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

/** `GET runs/{id}`: a run with everything recorded about it. */
export interface IRunDetail extends IRun {
  timeout_seconds?: number | null;
  input_files?: string[];
  trigger?: string;
  executor?: string | null;
  host?: string | null;
  input_notebook_sha256?: string | null;
  provenance: IProvenance | null;
  comparison: IComparison | null;
  logged_params?: Record<string, unknown>;
  artifacts?: { name: string; sha256: string; size: number; kind: string }[];
}

/** A sweep (group of runs over a parameter grid). */
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
  best: { run_id: string; value: number; parameters: Record<string, unknown> } | null;
}

/** `POST runs` body. */
export interface ISubmitRun {
  notebook_path: string;
  parameters?: Record<string, unknown>;
  kernel_name?: string;
  timeout?: number;
  tags?: string[];
}

type Settings = ServerConnection.ISettings | undefined;

/** `GET notebooks/parameters?path=` — the parameters the run dialog builds its form from. */
export function getNotebookParameters(
  path: string,
  settings?: Settings
): Promise<INotebookParameters> {
  return requestAPI<INotebookParameters>(
    withQuery('notebooks/parameters', { path }),
    {},
    settings
  );
}

/** `POST runs` — 201 with the queued run; 400 naming a bad parameter. */
export function submitRun(body: ISubmitRun, settings?: Settings): Promise<IRun> {
  return requestAPI<IRun>(
    'runs',
    { method: 'POST', body: JSON.stringify(body) },
    settings
  );
}

/** `GET runs/{id}` */
export function getRun(id: string, settings?: Settings): Promise<IRunDetail> {
  return requestAPI<IRunDetail>(`runs/${encodeURIComponent(id)}`, {}, settings);
}

/** `POST runs/{id}/cancel` */
export function cancelRun(id: string, settings?: Settings): Promise<IRun> {
  return requestAPI<IRun>(
    `runs/${encodeURIComponent(id)}/cancel`,
    { method: 'POST' },
    settings
  );
}

/** `POST runs/{id}/reproduce` — the new (queued) run reproducing `id`. */
export function reproduceRun(id: string, settings?: Settings): Promise<IRunDetail> {
  return requestAPI<IRunDetail>(
    `runs/${encodeURIComponent(id)}/reproduce`,
    { method: 'POST' },
    settings
  );
}

/** `POST runs/{id}/output` — writes the output notebook under the root; its path. */
export async function materializeOutput(
  id: string,
  settings?: Settings
): Promise<string> {
  const answer = await requestAPI<{ output_notebook_path: string }>(
    `runs/${encodeURIComponent(id)}/output`,
    { method: 'POST' },
    settings
  );
  return answer.output_notebook_path;
}

/** `GET runs/sweeps` */
export function listSweeps(
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<ISweep>> {
  return requestAPI<IPage<ISweep>>(withQuery('runs/sweeps', { ...query }), {}, settings);
}

/** Filters of `GET runs` (empty values are left out). */
export interface IRunListQuery extends IPageQuery {
  notebook?: string;
  status?: RunStatus | '';
  group_id?: string;
}

/** `GET runs` with the Runs tab's filters — newest first. */
export function queryRuns(
  query: IRunListQuery,
  settings?: Settings
): Promise<IPage<IRun>> {
  return requestAPI<IPage<IRun>>(withQuery('runs', { ...query }), {}, settings);
}
