/**
 * Lab notifications: while the lab is open, poll `GET /mlops/api/notifications`
 * and show each new item as a JupyterLab notification, with an action that
 * opens what it is about (the run in the Runs tab, the pipeline run's DAG, the
 * schedule's history).
 *
 * The first request has no `after` (the server answers nothing and its newest
 * id: a lab starts from now, it does not replay the past); every next one asks
 * `after=last_id`. Polling is a `@lumino/polling` `Poll`: one request at a
 * time, a few seconds apart, backing off while the server does not answer,
 * paused while the browser tab is hidden (what came meanwhile shows when it is
 * back), and stopped for good when the server extension is missing (404).
 */
import { Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';

import {
  ILabNotification,
  isNotFound,
  listNotifications,
  notificationLink
} from './api';
import { CommandIDs } from './commandIds';

/** Seconds between two polls of the notifications. */
export const NOTIFICATION_INTERVAL = 5;

/** JupyterLab cuts longer notification messages (toast and notification centre). */
export const MAX_NOTIFICATION_LENGTH = 140;

/** What a notification's action does: run `command` with `args`. */
export interface INotificationTarget {
  label: string;
  command: string;
  args: { [key: string]: string };
}


/**
 * The actions of a notification, most specific first: "Open pipeline run",
 * "Open run", "Open schedule" for the ids its `link` holds.
 */
export function notificationTargets(item: ILabNotification): INotificationTarget[] {
  const link = notificationLink(item);
  const targets: INotificationTarget[] = [];
  if (link.pipeline_run_id) {
    targets.push({
      label: 'Open pipeline run',
      command: CommandIDs.openPipelineRun,
      args: { id: link.pipeline_run_id }
    });
  }
  if (link.run_id) {
    targets.push({
      label: 'Open run',
      command: CommandIDs.openPanel,
      args: { tab: 'runs', id: link.run_id }
    });
  }
  if (link.schedule_id) {
    targets.push({
      label: 'Open schedule',
      command: CommandIDs.openSchedule,
      args: { id: link.schedule_id }
    });
  }
  return targets;
}

/** The text of a notification: its title, then its message, within JupyterLab's limit. */
export function notificationText(item: Pick<ILabNotification, 'title' | 'message'>): string {
  const title = item.title.trim();
  const message = item.message.trim();
  const text = message && message !== title ? `${title} — ${message}` : title || message;
  return text.length > MAX_NOTIFICATION_LENGTH
    ? `${text.slice(0, MAX_NOTIFICATION_LENGTH - 1)}…`
    : text;
}

/** Something that can run the actions' commands (the app's `CommandRegistry`). */
export interface ICommandRunner {
  execute(command: string, args?: { [key: string]: string }): Promise<unknown>;
}

/**
 * Show one server notification with `Notification.emit`: success, error or info
 * by its level; errors stay until dismissed, the others close by themselves.
 *
 * @returns The notification's id.
 */
export function showLabNotification(
  item: ILabNotification,
  commands: ICommandRunner | null
): string {
  const actions: Notification.IAction[] = commands
    ? notificationTargets(item).map(target => ({
        label: target.label,
        caption: `${target.command} ${JSON.stringify(target.args)}`,
        callback: () => {
          void commands.execute(target.command, target.args);
        }
      }))
    : [];
  const type: Notification.TypeOptions =
    item.level === 'error' ? 'error' : item.level === 'success' ? 'success' : 'info';
  return Notification.emit(notificationText(item), type, {
    autoClose: type === 'error' ? false : 10000,
    actions
  });
}

export namespace NotificationPoller {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    /** Runs the actions' commands; null: notifications without actions. */
    commands: ICommandRunner | null;
    /** Seconds between polls (default {@link NOTIFICATION_INTERVAL}). */
    interval?: number;
    /** Shows one notification (default {@link showLabNotification}). */
    show?: (item: ILabNotification, commands: ICommandRunner | null) => void;
  }
}

/**
 * Polls the server's lab notifications and shows the new ones, oldest first.
 */
export class NotificationPoller implements IDisposable {
  constructor(options: NotificationPoller.IOptions) {
    this._serverSettings = options.serverSettings;
    this._commands = options.commands;
    this._show = options.show ?? showLabNotification;
    const interval = Math.round((options.interval ?? NOTIFICATION_INTERVAL) * 1000);
    this._poll = new Poll<void, unknown>({
      auto: false,
      name: 'jupyterlab-mlops:notifications',
      frequency: { interval, backoff: true, max: Math.max(interval, 60 * 1000) },
      standby: 'when-hidden',
      factory: () => this._tick()
    });
  }

  /** The id of the newest notification seen, null before the first answer. */
  get lastId(): number | null {
    return this._lastId;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Start polling: the first request at once, with no `after` (from now on). */
  start(): Promise<void> {
    return this._poll.start();
  }

  dispose(): void {
    this._poll.dispose();
  }

  private async _tick(): Promise<void> {
    let page;
    try {
      page = await listNotifications(this._lastId, this._serverSettings);
    } catch (err) {
      if (isNotFound(err)) {
        // No server extension (or too old for notifications): nothing will ever come.
        this.dispose();
        return;
      }
      throw err; // the poll backs off and tries again
    }
    const first = this._lastId === null;
    for (const item of page.items) {
      if (!first && (this._lastId === null || item.id > this._lastId)) {
        this._show(item, this._commands);
      }
    }
    const newest = Math.max(page.last_id, ...page.items.map(item => item.id));
    this._lastId = Math.max(this._lastId ?? 0, newest);
  }

  private _serverSettings?: ServerConnection.ISettings;
  private _commands: ICommandRunner | null;
  private _show: (item: ILabNotification, commands: ICommandRunner | null) => void;
  private _lastId: number | null = null;
  private _poll: Poll<void, unknown>;
}
