/**
 * Client of the model registry routes (`/mlops/api/models…`): registered
 * models, their versions (with signature and reference profile), lineage,
 * aliases (promotion through the quality gate, rollback) and the audit log.
 *
 * Every resource type is an alias of the type generated from the server's
 * OpenAPI document (`schema.d.ts`, `jlpm generate:api`). The reference
 * profile, which the server describes as a plain object, keeps the
 * hand-written shape the panel reads ({@link IProfile}).
 */
import { ServerConnection } from '@jupyterlab/services';

import {
  apiUrl,
  getJSON,
  IPage,
  IPageQuery,
  MLOpsAPIError,
  parseErrorBody,
  parseErrorDetails,
  segment,
  sendJSON,
  withQuery
} from './request';
import type { IApprovalResponse } from './governance';
import type { components } from './schema';

type Schemas = components['schemas'];

// ---------------------------------------------------------------------------
// Resources (generated)
// ---------------------------------------------------------------------------

/** A registered model (`GET models`, `GET models/{name}`). */
export type IModel = Schemas['Model'];

/** A model version without its signature/profile (`GET models/{name}/versions`). */
export type IModelVersion = Schemas['ModelVersion'];

/** One input column of a model signature. */
export type ISignatureInput = Schemas['SignatureColumn'];

/** What a model takes and returns, inferred when it was registered. */
export type ISignature = Schemas['Signature'];

/** The reference profile of the training data (per-column statistics; free-form on the server). */
export interface IProfile {
  columns?: Record<string, { mean?: number | null }>;
  [key: string]: unknown;
}

/** `GET models/{name}/versions/{v}`: a version with its signature and profile. */
export type IModelVersionDetail = Omit<Schemas['ModelVersionDetail'], 'profile'> & {
  profile: IProfile;
};

/** `GET models/{name}/versions/{v}/lineage` */
export type ILineage = Schemas['Lineage'];

/** One audit log entry (`GET models/{name}/audit`). */
export type IAuditEntry = Schemas['AuditEntry'];

/** Answer of a rollback (`POST aliases/{alias}/rollback`): where the alias moved. */
export type IAliasMove = Schemas['AliasMove'];

/** Answer of a promotion (`PUT aliases/{alias}`). */
export type IPromotion = Schemas['Promotion'];

/** What the promote and rollback dialogs return (an approval request when the alias is
 * protected and the user is not an approver). */
export type IAliasChange = IPromotion | IAliasMove | IApprovalResponse;

/** Whether an alias change was forced past the quality gate. */
export function isForced(change: IAliasChange): boolean {
  return 'forced' in change && change.forced === true;
}

// ---------------------------------------------------------------------------
// Request bodies and queries (generated; the server's defaults are optional)
// ---------------------------------------------------------------------------

/** `GET models` query (`q`: substring of the name or description). */
export type IModelsQuery = Schemas['ModelListQuery'];

/** `GET models/{name}/versions` query (`archived: false` leaves archived versions out). */
export type IVersionsQuery = Schemas['VersionListQuery'];

/** `PUT models/{name}/aliases/{alias}` body (`force`: past a refusing gate, with a reason). */
export type ISetAlias = Schemas['SetAliasRequest'];

/** `POST models/{name}/aliases/{alias}/rollback` body. */
export type IRollbackAlias = Schemas['ReasonRequest'];

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
): Promise<IPromotion | IApprovalResponse> {
  return sendJSON<IPromotion | IApprovalResponse>(
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

/**
 * `GET models/{name}/versions/{v}/mlflow` — the version as a zipped MLflow
 * Model directory, saved by the browser as `<name>-v<version>-mlflow.zip`.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 */
export async function downloadMlflowModel(
  name: string,
  version: number,
  settings: Settings = ServerConnection.makeSettings()
): Promise<void> {
  const url = apiUrl(
    `${modelPath(name)}/versions/${segment(version)}/mlflow`,
    settings.baseUrl
  );
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: the status says enough
    }
    const { message, code } = parseErrorBody(
      body,
      response.status,
      response.statusText
    );
    throw new MLOpsAPIError(response, message, code, parseErrorDetails(body));
  }
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = `${name}-v${version}-mlflow.zip`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}
