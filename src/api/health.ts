/**
 * Client of `GET /mlops/api/health`: the server extension's version, store and
 * resource counts (the plugin's server check compares the version with the
 * frontend's). Typed from the generated OpenAPI types.
 */
import { ServerConnection } from '@jupyterlab/services';

import { getJSON } from './request';
import type { components } from './schema';

/** `GET health` (generated from the server's `Health` model). */
export type IHealth = components['schemas']['Health'];

/** Where the server keeps its store (`IHealth['store']`). */
export type IStoreInfo = components['schemas']['StoreInfo'];

/**
 * `GET health`.
 *
 * @throws {MLOpsAPIError} 404 when the server extension is not enabled.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function getHealth(
  settings?: ServerConnection.ISettings
): Promise<IHealth> {
  return getJSON<IHealth>('health', settings);
}
