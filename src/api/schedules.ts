/**
 * Client of the schedule routes (`/mlops/api/schedules…`): cron schedules of a
 * notebook (or a pipeline), pause/resume, run now, their fire history, and the
 * runs they started (`GET runs?schedule_id=`).
 *
 * Every type is an alias of the type generated from the server's OpenAPI
 * document (`schema.d.ts`, `jlpm generate:api`). A schedule carries what the
 * panel shows as is: `description` (the cron in words with its zone, computed
 * by the server) and `next_fire_at` (ISO 8601 with the zone's offset; null
 * while paused or past its end).
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
import { IRun, listRuns } from './runs';
import type { components } from './schema';

type Schemas = components['schemas'];

// ---------------------------------------------------------------------------
// Resources (generated)
// ---------------------------------------------------------------------------

/** A schedule (`GET schedules`, `GET schedules/{id}`). */
export type ISchedule = Schemas['Schedule'];

/** One fire time of a schedule and what became of it (`GET schedules/{id}/fires`). */
export type IScheduleFire = Schemas['ScheduleFire'];

/** What a fire did: `submitted` a run, `skipped` (overlap), `failed`, or still `claimed`. */
export type FireStatus = IScheduleFire['status'];

/** `POST schedules/{id}/trigger` (run now): the manual fire. */
export type ITriggeredFire = Schemas['TriggeredFire'];

/** What a run started by a schedule does when the previous one is still active. */
export type OverlapPolicy = ISchedule['overlap'];

/** What a schedule does about fire times missed while no scheduler ran. */
export type CatchUpPolicy = ISchedule['catch_up'];

// ---------------------------------------------------------------------------
// Request bodies and queries (generated; the server's defaults are optional)
// ---------------------------------------------------------------------------

/** `POST schedules` body: `cron` and one of `notebook_path` / `pipeline_path`. */
export type IScheduleCreate = Schemas['ScheduleCreate'];

/** `PATCH schedules/{id}` body: only the fields given change. */
export type IScheduleUpdate = Schemas['ScheduleUpdate'];

/** Who hears about which outcomes of a schedule's runs. */
export type IScheduleNotify = Schemas['Notify'];

/** `GET schedules` query. */
export type ISchedulesQuery = Schemas['ScheduleQuery'];

/** The overlap policies, the server's default first. */
export const OVERLAP_POLICIES: ReadonlyArray<OverlapPolicy> = ['skip', 'queue'];

/** The catch-up policies, the server's default first. */
export const CATCH_UP_POLICIES: ReadonlyArray<CatchUpPolicy> = ['none', 'latest'];

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

type Settings = ServerConnection.ISettings;

function schedulePath(id: string): string {
  return `schedules/${segment(id)}`;
}

/**
 * `GET schedules` — one page of schedules, newest first.
 *
 * @throws {MLOpsAPIError} On a non-2xx answer.
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 */
export function listSchedules(
  query: ISchedulesQuery = {},
  settings?: Settings
): Promise<IPage<ISchedule>> {
  return getJSON<IPage<ISchedule>>(withQuery('schedules', query), settings);
}

/** `GET schedules/{id}` */
export function getSchedule(id: string, settings?: Settings): Promise<ISchedule> {
  return getJSON<ISchedule>(schedulePath(id), settings);
}

/**
 * `POST schedules` — 201 with the schedule, its `description` and `next_fire_at`.
 *
 * @throws {MLOpsAPIError} 400 naming the bad field (`details.field`: `cron`,
 *   `timezone`, a parameter…) when refused; nothing is stored then.
 */
export function createSchedule(
  body: IScheduleCreate,
  settings?: Settings
): Promise<ISchedule> {
  return sendJSON<ISchedule>('POST', 'schedules', body, settings);
}

/** `PATCH schedules/{id}` — change the fields given. */
export function updateSchedule(
  id: string,
  body: IScheduleUpdate,
  settings?: Settings
): Promise<ISchedule> {
  return sendJSON<ISchedule>('PATCH', schedulePath(id), body, settings);
}

/** Pause (`active: false`) or resume (`active: true`) a schedule. */
export function setScheduleActive(
  id: string,
  active: boolean,
  settings?: Settings
): Promise<ISchedule> {
  return updateSchedule(id, { active }, settings);
}

/** `DELETE schedules/{id}` — the deleted schedule (its runs stay). */
export function deleteSchedule(id: string, settings?: Settings): Promise<ISchedule> {
  return sendJSON<ISchedule>('DELETE', schedulePath(id), undefined, settings);
}

/** `POST schedules/{id}/trigger` — run now (a manual fire, paused or not). */
export function triggerSchedule(
  id: string,
  settings?: Settings
): Promise<ITriggeredFire> {
  return sendJSON<ITriggeredFire>('POST', `${schedulePath(id)}/trigger`, {}, settings);
}

/** `GET schedules/{id}/fires` — its fire times, newest first. */
export function listScheduleFires(
  id: string,
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IScheduleFire>> {
  return getJSON<IPage<IScheduleFire>>(
    withQuery(`${schedulePath(id)}/fires`, query),
    settings
  );
}

/** `GET runs?schedule_id=` — the runs a schedule started, newest first. */
export function listScheduleRuns(
  id: string,
  query: IPageQuery = {},
  settings?: Settings
): Promise<IPage<IRun>> {
  return listRuns({ ...query, schedule_id: id }, settings);
}
