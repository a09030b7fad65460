/**
 * Client of `GET /mlops/api/notifications`: what every open lab on the store
 * shows as a notification when a run, a pipeline run or a scheduled run ends.
 *
 * Without `after` the server answers no items and the newest id (`last_id`): a
 * lab starts from now. With `after=last_id` it answers what came since, oldest
 * first. Types are aliases of the generated OpenAPI types.
 */
import { ServerConnection } from '@jupyterlab/services';

import { getJSON, withQuery } from './request';
import type { components } from './schema';

type Schemas = components['schemas'];

/** One lab notification (`link` holds `run_id`, `pipeline_run_id` and/or `schedule_id`). */
export type ILabNotification = Schemas['LabNotification'];

/** `GET notifications`: the new notifications and the id to poll after next. */
export type INotificationPage = Schemas['NotificationPage'];

/** `GET notifications` query. */
export type INotificationsQuery = Schemas['NotificationQuery'];

/** Where a notification points (the ids the server put in its `link`). */
export interface INotificationLink {
  run_id?: string;
  pipeline_run_id?: string;
  schedule_id?: string;
}

/** The ids of a notification's `link` that are strings (anything else is ignored). */
export function notificationLink(item: Pick<ILabNotification, 'link'>): INotificationLink {
  const link: INotificationLink = {};
  for (const key of ['run_id', 'pipeline_run_id', 'schedule_id'] as const) {
    const value = item.link?.[key];
    if (typeof value === 'string' && value) {
      link[key] = value;
    }
  }
  return link;
}

/**
 * `GET notifications[?after=]`.
 *
 * @param after The `last_id` of the previous answer; omit for the first call.
 * @throws {MLOpsAPIError} On a non-2xx answer (404 without the server extension).
 */
export function listNotifications(
  after?: number | null,
  settings?: ServerConnection.ISettings,
  limit?: number
): Promise<INotificationPage> {
  const query: INotificationsQuery = { after, limit };
  return getJSON<INotificationPage>(withQuery('notifications', query), settings);
}
