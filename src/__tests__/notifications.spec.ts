import { Notification } from '@jupyterlab/apputils';

import type { ILabNotification, INotificationPage } from '../api';
import {
  MAX_NOTIFICATION_LENGTH,
  NotificationPoller,
  notificationTargets,
  notificationText,
  showLabNotification
} from '../notifications';
import { errorBody, labNotification } from './fixtures';
import { fakeServer, json } from './harness';

describe('notification text and actions', () => {
  it('joins the title and the message, within JupyterLab’s 140 characters', () => {
    expect(notificationText({ title: 'Run failed: train.ipynb', message: 'ValueError: bad' })).toBe(
      'Run failed: train.ipynb — ValueError: bad'
    );
    expect(notificationText({ title: 'Pipeline succeeded: p.pipeline.yaml', message: '' })).toBe(
      'Pipeline succeeded: p.pipeline.yaml'
    );
    const long = notificationText({ title: 'Run failed', message: 'x'.repeat(300) });
    expect(long).toHaveLength(MAX_NOTIFICATION_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });

  it('offers to open what the link names, most specific first', () => {
    expect(notificationTargets(labNotification({ link: { run_id: 'r1', schedule_id: 's1' } }))).toEqual([
      { label: 'Open run', command: 'mlops:open-panel', args: { tab: 'runs', id: 'r1' } },
      { label: 'Open schedule', command: 'mlops:open-schedule', args: { id: 's1' } }
    ]);
    expect(
      notificationTargets(labNotification({ kind: 'pipeline_run', link: { pipeline_run_id: 'p1' } }))
    ).toEqual([{ label: 'Open pipeline run', command: 'mlops:open-pipeline-run', args: { id: 'p1' } }]);
    expect(notificationTargets(labNotification({ link: {} }))).toEqual([]);
  });

  it('shows a JupyterLab notification by level whose action runs the command', async () => {
    const executed: [string, unknown][] = [];
    const commands = {
      execute: async (command: string, args?: unknown) => {
        executed.push([command, args]);
      }
    };
    const id = showLabNotification(labNotification({ level: 'error' }), commands);
    const shown = Notification.manager.notifications.find(n => n.id === id)!;
    expect(shown.type).toBe('error');
    expect(shown.message).toBe('Run failed: scheduled run of train.ipynb — ValueError: bad data');
    expect(shown.options.autoClose).toBe(false);
    expect(shown.options.actions!.map(a => a.label)).toEqual(['Open run', 'Open schedule']);
    shown.options.actions![0].callback(new MouseEvent('click'));
    expect(executed).toEqual([['mlops:open-panel', { tab: 'runs', id: 'r1' }]]);

    const ok = showLabNotification(
      labNotification({ id: 2, level: 'success', title: 'Pipeline succeeded: p', message: '' }),
      commands
    );
    expect(Notification.manager.notifications.find(n => n.id === ok)!.type).toBe('success');
    Notification.dismiss();
  });
});

describe('NotificationPoller (fake timers)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    Notification.dismiss();
  });

  const flush = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) {
      await Promise.resolve();
    }
  };
  /** Advance in small steps until `count()` reaches `n` (at most `ms`). */
  const until = async (count: () => number, n: number, ms: number): Promise<void> => {
    for (let waited = 0; count() < n && waited <= ms; waited += 100) {
      jest.advanceTimersByTime(100);
      await flush();
    }
    await flush();
  };

  it('starts from now, then shows what came after the last id, oldest first', async () => {
    const pages: (INotificationPage | Response)[] = [
      { items: [], last_id: 7 },
      { items: [], last_id: 7 },
      {
        items: [
          labNotification({ id: 8, level: 'error' }),
          labNotification({
            id: 9,
            kind: 'pipeline_run',
            level: 'success',
            title: 'Pipeline succeeded: p.pipeline.yaml',
            message: 'pipeline run pr1 succeeded',
            link: { pipeline_run_id: 'pr1' }
          })
        ],
        last_id: 9
      },
      { items: [], last_id: 9 }
    ];
    const { serverSettings, requests } = fakeServer({
      notifications: () => pages.shift() ?? { items: [], last_id: 9 }
    });
    const shown: ILabNotification[] = [];
    const poller = new NotificationPoller({
      serverSettings,
      commands: null,
      interval: 5,
      show: item => shown.push(item)
    });
    void poller.start();
    await until(() => requests.length, 1, 1000);
    expect(requests).toHaveLength(1);
    expect(requests[0].url.searchParams.has('after')).toBe(false);
    expect(poller.lastId).toBe(7);

    // Nothing for the next 4 s, then one poll every 5 s.
    jest.advanceTimersByTime(4000);
    await flush();
    expect(requests).toHaveLength(1);
    await until(() => requests.length, 2, 2000);
    expect(requests[1].url.searchParams.get('after')).toBe('7');
    expect(shown).toEqual([]);

    await until(() => requests.length, 3, 6000);
    expect(requests[2].url.searchParams.get('after')).toBe('7');
    expect(shown.map(n => n.id)).toEqual([8, 9]);
    expect(poller.lastId).toBe(9);

    await until(() => requests.length, 4, 6000);
    expect(requests[3].url.searchParams.get('after')).toBe('9');
    expect(shown.map(n => n.id)).toEqual([8, 9]);
    poller.dispose();
  });

  it('shows them as JupyterLab notifications with their actions', async () => {
    let first = true;
    const { serverSettings, requests } = fakeServer({
      notifications: () => {
        if (first) {
          first = false;
          return { items: [], last_id: 0 };
        }
        return { items: [labNotification({ id: 1 })], last_id: 1 };
      }
    });
    const poller = new NotificationPoller({
      serverSettings,
      commands: { execute: async () => undefined },
      interval: 5
    });
    void poller.start();
    await until(() => requests.length, 2, 7000);
    await flush();
    const shown = Notification.manager.notifications;
    expect(shown).toHaveLength(1);
    expect(shown[0].type).toBe('error');
    expect(shown[0].options.actions!.map(a => a.label)).toEqual(['Open run', 'Open schedule']);
    poller.dispose();
  });

  it('keeps its place across a failed request and stops for good on a 404', async () => {
    const answers: Response[] = [
      json({ items: [], last_id: 3 }),
      json(errorBody('internal', 'database is locked'), 500),
      json({ items: [labNotification({ id: 4 })], last_id: 4 }),
      json(errorBody('not_found', 'No route'), 404)
    ];
    const { serverSettings, requests } = fakeServer({
      notifications: () => answers.shift() ?? json({ items: [], last_id: 4 })
    });
    const shown: number[] = [];
    const poller = new NotificationPoller({
      serverSettings,
      commands: null,
      interval: 1,
      show: item => shown.push(item.id)
    });
    void poller.start();
    await until(() => requests.length, 3, 10000);
    expect(requests.map(r => r.url.searchParams.get('after'))).toEqual([null, '3', '3']);
    expect(shown).toEqual([4]);
    await until(() => requests.length, 4, 10000);
    await flush();
    expect(poller.isDisposed).toBe(true);
    jest.advanceTimersByTime(60000);
    await flush();
    expect(requests).toHaveLength(4);
  });
});
