/**
 * The typed client of the jupyterlab-mlops REST API: one module per resource
 * on one request helper. Every component imports from here (`../api`).
 *
 * - `request.ts`: `requestAPI`, `withQuery`, `MLOpsAPIError` and the error
 *   messages, the paging types.
 * - `health.ts`, `runs.ts`, `models.ts`, `deployments.ts` (with one-click
 *   deploy jobs), `drift.ts`, `schedules.ts`, `pipelines.ts`,
 *   `notifications.ts`: one client per resource.
 * - `openapi.json` / `schema.d.ts`: the server's OpenAPI document and the
 *   TypeScript types generated from it (`jlpm generate:api`; `jlpm check:api`
 *   fails when they are stale).
 */
export * from './request';
export * from './health';
export * from './runs';
export * from './models';
export * from './deployments';
export * from './drift';
export * from './schedules';
export * from './pipelines';
export * from './notifications';
export * from './governance';
export type { components, paths } from './schema';
