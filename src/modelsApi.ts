/**
 * Client of the model registry routes (`/mlops/api/models…`).
 *
 * Shapes follow `jupyterlab_mlops/registry/service.py` (`version_dict`, `model_dict`,
 * `audit_dict`, `set_alias`, `rollback`) and `registry/lineage.py` (`build_lineage`).
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  IModel,
  IPage,
  IPageQuery,
  MLOpsAPIError,
  requestAPI,
  withQuery
} from './api';

/** A model version without its signature/profile (`GET models/{name}/versions`). */
export interface IModelVersion {
  name: string;
  version: number;
  artifact_sha256: string;
  artifact_size: number | null;
  serialization: string;
  flavour: string | null;
  model_class: string | null;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  tags: Record<string, string>;
  description: string | null;
  run_id: string | null;
  archived: boolean;
  /** Aliases pointing at this version. */
  aliases: string[];
  created_by: string | null;
  created_at: string;
}

/** `GET models/{name}/versions/{v}/lineage` */
export interface ILineage {
  model: {
    name: string;
    version: number;
    aliases: string[];
    artifact_sha256: string;
    serialization: string;
    flavour: string | null;
    model_class: string | null;
    created_by: string | null;
    created_at: string | null;
  };
  run: {
    id: string;
    kind: string;
    status: string;
    trigger: string | null;
    created_by: string | null;
    created_at: string | null;
    started_at: string | null;
    finished_at: string | null;
    output_notebook_path: string | null;
    output_notebook_sha256: string | null;
    user: string | null;
  } | null;
  notebook: { path: string; sha256: string | null } | null;
  parameters: Record<string, unknown>;
  inputs: Record<string, string>;
  git: { commit?: string | null; branch?: string | null; dirty?: boolean | null } | null;
  environment: {
    kernel?: { name?: string | null; language?: string; language_version?: string } | null;
    python?: { version?: string; executable?: string } | null;
    packages?: Record<string, string> | null;
    platform?: Record<string, string> | null;
    [key: string]: unknown;
  };
  /** Links of the chain that are not known (e.g. `run`, `git`). */
  missing: string[];
}

/** One audit log entry (`GET models/{name}/audit`). */
export interface IAuditEntry {
  id: number;
  model_name: string;
  action: string;
  alias: string | null;
  from_version: number | null;
  to_version: number | null;
  reason: string | null;
  forced: boolean;
  details: Record<string, unknown>;
  user: string | null;
  created_at: string;
}

/** Answer of a promotion (`PUT aliases/{alias}`) or rollback. */
export interface IAliasChange {
  name: string;
  alias: string;
  version: number | null;
  previous_version: number | null;
  changed?: boolean;
  forced?: boolean;
}

type Settings = ServerConnection.ISettings | undefined;

function modelPath(name: string): string {
  return `models/${encodeURIComponent(name)}`;
}

/** `GET models/{name}` */
export function getModel(name: string, settings?: Settings): Promise<IModel> {
  return requestAPI<IModel>(modelPath(name), {}, settings);
}

/** `GET models/{name}/versions` — newest first. */
export function listVersions(
  name: string,
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IModelVersion>> {
  return requestAPI<IPage<IModelVersion>>(
    withQuery(`${modelPath(name)}/versions`, { ...query }),
    {},
    settings
  );
}

/** `GET models/{name}/versions/{v}/lineage` */
export function getLineage(
  name: string,
  version: number,
  settings?: Settings
): Promise<ILineage> {
  return requestAPI<ILineage>(
    `${modelPath(name)}/versions/${version}/lineage`,
    {},
    settings
  );
}

/** `GET models/{name}/audit` — newest first. */
export function listAudit(
  name: string,
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IAuditEntry>> {
  return requestAPI<IPage<IAuditEntry>>(
    withQuery(`${modelPath(name)}/audit`, { ...query }),
    {},
    settings
  );
}

/**
 * `PUT models/{name}/aliases/{alias}` — point `alias` at `version`.
 *
 * @throws {MLOpsAPIError} 409 `gate_failed` (see {@link isGateRefusal}) when the quality
 *   gate refuses; its message holds the comparison. Retry with `force` and a reason.
 */
export function setAlias(
  name: string,
  alias: string,
  body: { version: number; reason: string; force?: boolean },
  settings?: Settings
): Promise<IAliasChange> {
  return requestAPI<IAliasChange>(
    `${modelPath(name)}/aliases/${encodeURIComponent(alias)}`,
    { method: 'PUT', body: JSON.stringify(body) },
    settings
  );
}

/** `POST models/{name}/aliases/{alias}/rollback` — back to the alias's previous version. */
export function rollbackAlias(
  name: string,
  alias: string,
  reason: string,
  settings?: Settings
): Promise<IAliasChange> {
  return requestAPI<IAliasChange>(
    `${modelPath(name)}/aliases/${encodeURIComponent(alias)}/rollback`,
    { method: 'POST', body: JSON.stringify({ reason }) },
    settings
  );
}

/** Whether an error is the quality gate refusing a promotion (409 `gate_failed`). */
export function isGateRefusal(err: unknown): err is MLOpsAPIError {
  return err instanceof MLOpsAPIError && err.code === 'gate_failed';
}
