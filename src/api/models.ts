/**
 * Client of the model registry routes (`/mlops/api/models…`): registered
 * models, their versions (with signature and reference profile), lineage,
 * aliases (promotion through the quality gate, rollback) and the audit log.
 *
 * The resource types below are hand-written from `registry/service.py`
 * (`version_dict`, `model_dict`, `audit_dict`, `set_alias`, `rollback`) and
 * `registry/lineage.py` (`build_lineage`) until the server describes these
 * routes in its OpenAPI document; then each becomes an alias of its generated
 * type, see "Resources".
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  getJSON,
  IPage,
  IPageQuery,
  MLOpsAPIError,
  segment,
  sendJSON,
  withQuery
} from './request';

// ---------------------------------------------------------------------------
// Resources (phase 2: each one an alias of its generated schema)
// ---------------------------------------------------------------------------

/** A registered model (`GET models`, `GET models/{name}`). */
export interface IModel {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  latest_version: number | null;
  version_count: number;
  /** Alias → version number. */
  aliases: Record<string, number>;
  created_at: string;
  updated_at: string;
}

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

/** One input column of a model signature. */
export interface ISignatureInput {
  name: string;
  dtype?: string;
  kind?: 'numeric' | 'categorical' | 'boolean' | string;
  categories?: unknown[];
}

/** What a model takes and returns, inferred when it was registered. */
export interface ISignature {
  input_type?: string;
  inputs?: ISignatureInput[];
  output?: Record<string, unknown>;
}

/** The reference profile of the training data (per-column statistics). */
export interface IProfile {
  columns?: Record<string, { mean?: number | null }>;
}

/** `GET models/{name}/versions/{v}`: a version with its signature and profile. */
export interface IModelVersionDetail extends IModelVersion {
  signature: ISignature | null;
  profile: IProfile | null;
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
  git: {
    commit?: string | null;
    branch?: string | null;
    dirty?: boolean | null;
  } | null;
  environment: {
    kernel?: {
      name?: string | null;
      language?: string;
      language_version?: string;
    } | null;
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

/** Answer of a rollback (`POST aliases/{alias}/rollback`): where the alias moved. */
export interface IAliasMove {
  name: string;
  alias: string;
  version: number | null;
  previous_version: number | null;
}

/** Answer of a promotion (`PUT aliases/{alias}`). */
export interface IPromotion extends IAliasMove {
  /** False when the alias already pointed at the version. */
  changed?: boolean;
  /** The promotion went past a refusing quality gate. */
  forced?: boolean;
}

/** What the promote and rollback dialogs return. */
export type IAliasChange = IPromotion | IAliasMove;

/** Whether an alias change was forced past the quality gate. */
export function isForced(change: IAliasChange): boolean {
  return 'forced' in change && change.forced === true;
}

// ---------------------------------------------------------------------------
// Request bodies and queries (phase 2: aliases of the generated request models)
// ---------------------------------------------------------------------------

/** `GET models` query. */
export interface IModelsQuery extends IPageQuery {
  /** Substring of the name or description. */
  q?: string;
}

/** `GET models/{name}/versions` query. */
export interface IVersionsQuery extends IPageQuery {
  /** `false`: leave archived versions out. */
  archived?: boolean;
}

/** `PUT models/{name}/aliases/{alias}` body. */
export interface ISetAlias {
  version: number;
  reason: string;
  /** Past a refusing quality gate (the reason is then required). */
  force?: boolean;
}

/** `POST models/{name}/aliases/{alias}/rollback` body. */
export interface IRollbackAlias {
  reason: string;
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function modelPath(name: string): string {
  return `models/${segment(name)}`;
}

/**
 * `GET models` — one page of registered models.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listModels(
  query: IModelsQuery = {},
  settings?: Settings
): Promise<IPage<IModel>> {
  return getJSON<IPage<IModel>>(withQuery('models', query), settings);
}

/** `GET models/{name}` */
export function getModel(name: string, settings?: Settings): Promise<IModel> {
  return getJSON<IModel>(modelPath(name), settings);
}

/** `GET models/{name}/versions` — newest first. */
export function listVersions(
  name: string,
  query: IVersionsQuery = {},
  settings?: Settings
): Promise<IPage<IModelVersion>> {
  return getJSON<IPage<IModelVersion>>(
    withQuery(`${modelPath(name)}/versions`, query),
    settings
  );
}

/** Version numbers of a model that are not archived (newest first), for the canary challenger. */
export async function listVersionNumbers(
  name: string,
  settings?: Settings
): Promise<number[]> {
  const page = await listVersions(
    name,
    { offset: 0, limit: 100, archived: false },
    settings
  );
  return page.items.map(item => item.version);
}

/** `GET models/{name}/versions/{v}`: with the signature and profile (the curl example). */
export function getModelVersion(
  name: string,
  version: number,
  settings?: Settings
): Promise<IModelVersionDetail> {
  return getJSON<IModelVersionDetail>(
    `${modelPath(name)}/versions/${version}`,
    settings
  );
}

/** `GET models/{name}/versions/{v}/lineage` */
export function getLineage(
  name: string,
  version: number,
  settings?: Settings
): Promise<ILineage> {
  return getJSON<ILineage>(
    `${modelPath(name)}/versions/${version}/lineage`,
    settings
  );
}

/** `GET models/{name}/audit` — newest first. */
export function listAudit(
  name: string,
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IAuditEntry>> {
  return getJSON<IPage<IAuditEntry>>(
    withQuery(`${modelPath(name)}/audit`, query),
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
  body: ISetAlias,
  settings?: Settings
): Promise<IPromotion> {
  return sendJSON<IPromotion>(
    'PUT',
    `${modelPath(name)}/aliases/${segment(alias)}`,
    body,
    settings
  );
}

/** `POST models/{name}/aliases/{alias}/rollback` — back to the alias's previous version. */
export function rollbackAlias(
  name: string,
  alias: string,
  reason: string,
  settings?: Settings
): Promise<IAliasMove> {
  const body: IRollbackAlias = { reason };
  return sendJSON<IAliasMove>(
    'POST',
    `${modelPath(name)}/aliases/${segment(alias)}/rollback`,
    body,
    settings
  );
}

/** Whether an error is the quality gate refusing a promotion (409 `gate_failed`). */
export function isGateRefusal(err: unknown): err is MLOpsAPIError {
  return err instanceof MLOpsAPIError && err.code === 'gate_failed';
}
