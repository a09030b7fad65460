import { Notification } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { act } from 'react';

import type { ISchedule } from '../api';
import { runWithParameters } from '../dialogs/RunWithParameters';
import { ScheduleBody, ScheduleEditBody, scheduleSummary } from '../dialogs/ScheduleDialog';
import {
  createScheduleBody,
  initialTimezone,
  newScheduleState,
  scheduleState,
  updateScheduleBody,
  validateSchedule
} from '../dialogs/scheduleForm';
import { formatUntil } from '../panel/format';
import { PanelModel } from '../panel/model';
import { SchedulesTab } from '../panel/SchedulesTab';
import { ScheduleHistoryView } from '../views/ScheduleHistory';
import {
  errorBody,
  notebookParameters,
  page,
  parameterSpec,
  run,
  schedule,
  scheduleFire
} from './fixtures';
import { click, fakeServer, json, reactRoot, settle, waitFor, writes } from './harness';

/** Type into a React-controlled input or select. */
function type(element: Element | null, value: string): void {
  if (!element) {
    throw new Error('No input to type into.');
  }
  const prototype =
    element instanceof HTMLSelectElement
      ? HTMLSelectElement.prototype
      : element instanceof HTMLTextAreaElement
        ? HTMLTextAreaElement.prototype
        : HTMLInputElement.prototype;
  act(() => {
    Object.getOwnPropertyDescriptor(prototype, 'value')!.set!.call(element, value);
    element.dispatchEvent(
      new Event(element instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true })
    );
  });
}

function recordingCommands(): { commands: CommandRegistry; calls: [string, unknown][] } {
  const commands = new CommandRegistry();
  const calls: [string, unknown][] = [];
  for (const id of ['mlops:open-panel', 'mlops:open-schedule', 'docmanager:open']) {
    commands.addCommand(id, {
      execute: args => {
        calls.push([id, args]);
      }
    });
  }
  return { commands, calls };
}

describe('schedule form', () => {
  it('starts in the setting’s zone, else the browser’s', () => {
    expect(initialTimezone('Europe/Paris')).toBe('Europe/Paris');
    expect(initialTimezone(' ')).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(newScheduleState('Asia/Tokyo')).toEqual({
      name: '',
      cron: '',
      timezone: 'Asia/Tokyo',
      overlap: 'skip',
      catchUp: 'none'
    });
  });

  it('wants a 5-field cron and a zone before asking the server', () => {
    const state = newScheduleState('UTC');
    expect(validateSchedule({ ...state, cron: '0 6 * * *' })).toEqual({});
    expect(validateSchedule({ ...state, cron: '0 6 * *' }).cron).toBe(
      'cron: expected 5 fields (minute, hour, day of month, month, day of week), got 4: "0 6 * *"'
    );
    expect(validateSchedule({ ...state, cron: '' }).cron).toMatch(/^cron: required/);
    expect(validateSchedule({ ...state, cron: '* * * * *', timezone: ' ' }).timezone).toMatch(
      /^timezone: required/
    );
  });

  it('builds the POST body, and a PATCH of what changed only', () => {
    const state = { ...newScheduleState('Europe/Paris'), cron: ' 0  6 * * 1 ', name: 'weekly' };
    expect(createScheduleBody('train.ipynb', state, { parameters: { C: 0.5 }, timeout: 60 })).toEqual(
      {
        notebook_path: 'train.ipynb',
        parameters: { C: 0.5 },
        cron: '0 6 * * 1',
        timezone: 'Europe/Paris',
        overlap: 'skip',
        catch_up: 'none',
        name: 'weekly',
        timeout: 60
      }
    );
    const existing = schedule({ parameters: { C: 0.5 } });
    expect(updateScheduleBody(existing, scheduleState(existing), { C: 0.5 })).toEqual({});
    expect(
      updateScheduleBody(
        existing,
        { ...scheduleState(existing), cron: '30 7 * * *', catchUp: 'latest' },
        { C: 1 }
      )
    ).toEqual({ cron: '30 7 * * *', catch_up: 'latest', parameters: { C: 1 } });
  });

  it('says when the next fire is', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(formatUntil('2026-01-01T00:00:30Z', now)).toBe('in 30 s');
    expect(formatUntil('2026-01-01T00:20:00Z', now)).toBe('in 20 min');
    expect(formatUntil('2026-01-01T06:00:00+01:00', now)).toBe('in 5 h');
    expect(formatUntil('2026-01-03T00:00:00Z', now)).toBe('in 2 d');
    expect(formatUntil('2025-12-31T00:00:00Z', now)).toBe('now');
    expect(formatUntil(null, now)).toBe('—');
    expect(scheduleSummary(schedule({ next_fire_at: null, active: false }))).toBe(
      'At 06:00 (Europe/Paris); paused'
    );
  });
});

describe('ScheduleBody ("Schedule…")', () => {
  const info = notebookParameters({
    path: 'work/train.ipynb',
    parameters: [parameterSpec({ name: 'C', type: 'float', default: 1, default_source: '1.0' })]
  });

  async function submit(body: ScheduleBody | ScheduleEditBody): Promise<boolean> {
    let ok = false;
    await act(async () => {
      ok = await body.submit();
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    return ok;
  }

  async function rendered<B extends { update(): void }>(body: B): Promise<B> {
    await act(async () => {
      body.update();
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    return body;
  }

  it('carries over the typed parameters and POSTs the schedule', async () => {
    const created = schedule({ id: 'sch5', parameters: { C: 0.5 } });
    const { serverSettings, requests } = fakeServer({
      'POST schedules': () => json(created, 201)
    });
    const body = await rendered(
      new ScheduleBody({
        info,
        serverSettings,
        initial: { texts: { C: '0.5' }, timeout: '', tags: 'ignored' },
        defaultTimezone: 'Europe/Paris'
      })
    );
    expect((body.node.querySelector('#jp-mlops-param-C') as HTMLInputElement).value).toBe('0.5');
    expect((body.node.querySelector('#jp-mlops-schedule-timezone') as HTMLInputElement).value).toBe(
      'Europe/Paris'
    );
    // Schedules' runs have no tags: not offered.
    expect(body.node.querySelector('#jp-mlops-run-tags')).toBeNull();

    // A 4-field cron never reaches the server.
    type(body.node.querySelector('#jp-mlops-schedule-cron'), '0 6 * *');
    expect(await submit(body)).toBe(false);
    expect(requests).toHaveLength(0);
    expect(
      body.node.querySelector('[data-field="cron"] .jp-mlops-param-error')!.textContent
    ).toMatch(/^cron: expected 5 fields/);

    type(body.node.querySelector('#jp-mlops-schedule-cron'), '0 6 * * *');
    type(body.node.querySelector('#jp-mlops-schedule-overlap'), 'queue');
    type(body.node.querySelector('#jp-mlops-schedule-name'), 'nightly');
    expect(await submit(body)).toBe(true);
    expect(requests[0].body).toEqual({
      notebook_path: 'work/train.ipynb',
      parameters: { C: 0.5 },
      cron: '0 6 * * *',
      timezone: 'Europe/Paris',
      overlap: 'queue',
      catch_up: 'none',
      name: 'nightly'
    });
    expect(body.getValue()!.id).toBe('sch5');
    act(() => body.dispose());
  });

  it('fills the cron from an example', async () => {
    const { serverSettings } = fakeServer({});
    const body = await rendered(new ScheduleBody({ info, serverSettings, defaultTimezone: 'UTC' }));
    type(body.node.querySelector('#jp-mlops-schedule-cron-example'), '0 6 * * 1');
    expect((body.node.querySelector('#jp-mlops-schedule-cron') as HTMLInputElement).value).toBe(
      '0 6 * * 1'
    );
    expect(body.schedule.cron).toBe('0 6 * * 1');
    act(() => body.dispose());
  });

  it("shows the server's 400 at the field it names and stays open", async () => {
    const { serverSettings } = fakeServer({
      'POST schedules': () =>
        json(
          {
            error: {
              code: 'invalid_input',
              message: "'timezone': unknown time zone 'Mars/Olympus' (use an IANA name such as 'Europe/Paris')",
              details: { field: 'timezone' }
            }
          },
          400
        )
    });
    const body = await rendered(new ScheduleBody({ info, serverSettings, defaultTimezone: 'UTC' }));
    type(body.node.querySelector('#jp-mlops-schedule-cron'), '0 6 * * *');
    type(body.node.querySelector('#jp-mlops-schedule-timezone'), 'Mars/Olympus');
    expect(await submit(body)).toBe(false);
    const error = body.node.querySelector('[data-field="timezone"] .jp-mlops-param-error');
    expect(error!.textContent).toBe(
      "'timezone': unknown time zone 'Mars/Olympus' (use an IANA name such as 'Europe/Paris')"
    );
    expect(body.node.querySelector('[data-field="cron"] .jp-mlops-param-error')).toBeNull();
    expect(body.node.querySelector('.jp-mlops-run-form-error')!.textContent).toContain(
      'Mars/Olympus'
    );
    expect(body.getValue()).toBeNull();
    act(() => body.dispose());
  });

  it('puts a refused parameter on its field', async () => {
    const { serverSettings } = fakeServer({
      'POST schedules': () =>
        json(
          {
            error: {
              code: 'invalid_input',
              message: "parameter 'C' expects float, got 'x'",
              details: { field: 'C' }
            }
          },
          400
        )
    });
    const body = await rendered(
      new ScheduleBody({ info, serverSettings, initial: { texts: { C: '2' }, timeout: '', tags: '' } })
    );
    type(body.node.querySelector('#jp-mlops-schedule-cron'), '0 6 * * *');
    expect(await submit(body)).toBe(false);
    expect(
      body.node.querySelector('[data-parameter="C"] .jp-mlops-param-error')!.textContent
    ).toBe("parameter 'C' expects float, got 'x'");
    act(() => body.dispose());
  });

  it('edits a schedule with a PATCH of what changed', async () => {
    const existing = schedule({ id: 'sch2', parameters: { C: 0.5 } });
    const { serverSettings, requests } = fakeServer({
      'PATCH schedules/sch2': (_url, patch) => ({ ...existing, ...(patch as object) })
    });
    const body = await rendered(new ScheduleEditBody(existing, serverSettings));
    expect((body.node.querySelector('#jp-mlops-schedule-cron') as HTMLInputElement).value).toBe(
      '0 6 * * *'
    );
    type(body.node.querySelector('#jp-mlops-schedule-parameters'), '[1]');
    expect(await submit(body)).toBe(false);
    expect(requests).toHaveLength(0);
    type(body.node.querySelector('#jp-mlops-schedule-parameters'), '{"C": 2}');
    type(body.node.querySelector('#jp-mlops-schedule-cron'), '15 6 * * *');
    expect(await submit(body)).toBe(true);
    expect(requests[0].body).toEqual({ cron: '15 6 * * *', parameters: { C: 2 } });
    expect(body.getValue()!.cron).toBe('15 6 * * *');
    act(() => body.dispose());
  });
});

describe('"Run with parameters" → "Schedule…"', () => {
  afterEach(() => Notification.dismiss());

  it('goes on to the schedule dialog with what was typed, and creates the schedule', async () => {
    const info = notebookParameters({
      path: 'work/train.ipynb',
      parameters: [parameterSpec({ name: 'C', type: 'float', default: 1, default_source: '1.0' })]
    });
    const { serverSettings, requests } = fakeServer({
      'notebooks/parameters': () => info,
      'POST schedules': (_url, body) =>
        json(schedule({ id: 'sch3', parameters: (body as ISchedule).parameters }), 201)
    });
    const scheduled: ISchedule[] = [];
    const done = runWithParameters({
      path: 'work/train.ipynb',
      serverSettings,
      defaultTimezone: 'Europe/Paris',
      onScheduled: created => scheduled.push(created),
      onSubmitted: () => {
        throw new Error('no run expected');
      }
    });
    await waitFor(() => expect(document.querySelector('#jp-mlops-param-C')).not.toBeNull());
    const choice = document.querySelector('.jp-Dialog .jp-mlops-schedule-choice')!;
    expect(choice.textContent).toBe('Schedule…');
    type(document.querySelector('#jp-mlops-param-C'), '0.5');
    click(choice);

    await waitFor(() =>
      expect(document.querySelector('.jp-Dialog-header')?.textContent).toBe('Schedule train.ipynb')
    );
    expect((document.querySelector('#jp-mlops-param-C') as HTMLInputElement).value).toBe('0.5');
    type(document.querySelector('#jp-mlops-schedule-cron'), '0 6 * * *');
    click(document.querySelector('.jp-Dialog .jp-mod-accept'));
    expect(await done).toBeNull();
    await waitFor(() => expect(scheduled).toHaveLength(1));
    expect(scheduled[0].id).toBe('sch3');
    expect(writes(requests)).toEqual(['POST schedules']);
    expect(requests.find(r => r.method === 'POST')!.body).toEqual({
      notebook_path: 'work/train.ipynb',
      parameters: { C: 0.5 },
      cron: '0 6 * * *',
      timezone: 'Europe/Paris',
      overlap: 'skip',
      catch_up: 'none'
    });
    expect(document.querySelector('.jp-Dialog')).toBeNull();
    expect(Notification.manager.notifications.map(n => n.message)).toContain(
      'Schedule "nightly" created: At 06:00 (Europe/Paris); next run ' +
        `${new Date('2026-01-02T06:00:00+01:00').toLocaleString()}.`
    );
  });
});

describe('SchedulesTab', () => {
  const dom = reactRoot();
  const q = (selector: string) => dom.container().querySelector(selector);
  afterEach(() => Notification.dismiss());

  function renderTab(model: PanelModel): void {
    dom.render(
      <SchedulesTab
        serverSettings={model.serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
        model={model}
      />
    );
  }

  /** A server holding one schedule, answering its actions. */
  function scheduleServer(initial: ISchedule) {
    let current: ISchedule | null = initial;
    const server = fakeServer({
      schedules: () => page(current ? [current] : []),
      [`PATCH schedules/${initial.id}`]: (_url, patch) => {
        const active = (patch as { active?: boolean }).active;
        current = {
          ...current!,
          ...(patch as object),
          next_fire_at: active === false ? null : initial.next_fire_at
        };
        return current;
      },
      [`POST schedules/${initial.id}/trigger`]: () => {
        current = { ...current!, last_status: 'queued' };
        return json(
          { ...scheduleFire({ manual: true, run_id: 'r42' }), schedule_id: initial.id },
          201
        );
      },
      [`DELETE schedules/${initial.id}`]: () => {
        const gone = current;
        current = null;
        return gone;
      }
    });
    return server;
  }

  it('shows each schedule: name, target, cron in words, next fire, last status', async () => {
    const { serverSettings } = fakeServer({
      schedules: () =>
        page([
          schedule({
            next_fire_at: new Date(Date.now() + 5 * 3600 * 1000 + 60000).toISOString(),
            last_status: 'succeeded'
          })
        ])
    });
    renderTab(new PanelModel({ serverSettings }));
    await waitFor(() => expect(q('[data-schedule-id="sch1"]')).not.toBeNull());
    const row = q('[data-schedule-id="sch1"]')!;
    expect(row.getAttribute('data-active')).toBe('true');
    expect(row.querySelector('.jp-mlops-schedule-name')!.textContent).toBe('nightly');
    expect(row.querySelector('.jp-mlops-schedule-target')!.textContent).toBe('train.ipynb');
    expect(row.querySelector('.jp-mlops-schedule-description')!.textContent).toBe(
      'At 06:00 (Europe/Paris)'
    );
    expect(row.querySelector('.jp-mlops-schedule-next')!.textContent).toBe('next run in 5 h');
    expect(row.querySelector('.jp-mlops-schedule-last .jp-mlops-status')!.textContent).toBe(
      'succeeded'
    );
    expect(row.querySelector('.jp-mlops-schedule-paused')).toBeNull();
  });

  it('shows the empty state', async () => {
    const { serverSettings } = fakeServer({ schedules: () => page([]) });
    renderTab(new PanelModel({ serverSettings }));
    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());
    expect(q('.jp-mlops-empty')!.textContent).toContain("choose 'Schedule…'");
  });

  it('pauses, resumes and runs now', async () => {
    const { serverSettings, requests } = scheduleServer(schedule());
    renderTab(new PanelModel({ serverSettings }));
    await waitFor(() => expect(q('.jp-mlops-schedule-toggle')?.textContent).toBe('Pause'));

    click(q('.jp-mlops-schedule-toggle'));
    await waitFor(() => expect(q('.jp-mlops-schedule-toggle')!.textContent).toBe('Resume'));
    expect(q('[data-schedule-id="sch1"]')!.getAttribute('data-active')).toBe('false');
    expect(q('.jp-mlops-schedule-paused')!.textContent).toBe('paused');
    expect(q('.jp-mlops-schedule-next')!.textContent).toBe('paused: no next run');

    click(q('.jp-mlops-schedule-toggle'));
    await waitFor(() => expect(q('.jp-mlops-schedule-toggle')!.textContent).toBe('Pause'));

    click(q('.jp-mlops-schedule-trigger'));
    await waitFor(() =>
      expect(q('.jp-mlops-schedule-last .jp-mlops-status')?.textContent).toBe('queued')
    );
    expect(writes(requests)).toEqual([
      'PATCH schedules/sch1',
      'PATCH schedules/sch1',
      'POST schedules/sch1/trigger'
    ]);
    expect(requests.filter(r => r.method === 'PATCH').map(r => r.body)).toEqual([
      { active: false },
      { active: true }
    ]);
    const shown = Notification.manager.notifications.map(n => n.message);
    expect(shown).toContain('Run r42 of "nightly" started.');
  });

  it('deletes only after the confirmation', async () => {
    const { serverSettings, requests } = scheduleServer(schedule());
    renderTab(new PanelModel({ serverSettings }));
    await waitFor(() => expect(q('.jp-mlops-schedule-delete')).not.toBeNull());

    click(q('.jp-mlops-schedule-delete'));
    await waitFor(() => expect(document.querySelector('.jp-Dialog')).not.toBeNull());
    expect(document.querySelector('.jp-Dialog-header')!.textContent).toBe('Delete schedule');
    click(document.querySelector('.jp-Dialog .jp-mod-reject'));
    await waitFor(() => expect(document.querySelector('.jp-Dialog')).toBeNull());
    expect(writes(requests)).toEqual([]);

    click(q('.jp-mlops-schedule-delete'));
    await waitFor(() => expect(document.querySelector('.jp-Dialog')).not.toBeNull());
    click(document.querySelector('.jp-Dialog .jp-mod-accept'));
    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());
    expect(writes(requests)).toEqual(['DELETE schedules/sch1']);
  });

  it('opens the history in the main area and highlights the selected schedule', async () => {
    const { serverSettings } = fakeServer({ schedules: () => page([schedule()]) });
    const { commands, calls } = recordingCommands();
    const model = new PanelModel({ serverSettings, commands });
    model.select('schedules', 'sch1');
    renderTab(model);
    await waitFor(() => expect(q('[data-schedule-id="sch1"]')).not.toBeNull());
    expect(q('[data-schedule-id="sch1"]')!.classList.contains('jp-mod-selected')).toBe(true);
    click(q('.jp-mlops-schedule-history'));
    await settle();
    expect(calls).toEqual([['mlops:open-schedule', { id: 'sch1' }]]);
  });
});

describe('ScheduleHistoryView', () => {
  const dom = reactRoot();
  const q = (selector: string) => dom.container().querySelector(selector);

  it('lists the fires and the runs, each run linked to the Runs tab and its output', async () => {
    const { serverSettings, requests } = fakeServer({
      'schedules/sch1': () => schedule({ last_status: 'failed' }),
      'schedules/sch1/fires': () =>
        page([
          scheduleFire({ manual: true, run_id: 'r2' }),
          scheduleFire({
            fire_time: '2026-01-01T06:00:00+01:00',
            status: 'skipped',
            reason: 'the previous run is still active',
            run_id: null
          })
        ]),
      runs: () =>
        page([
          run({
            id: 'r2',
            status: 'failed',
            schedule_id: 'sch1',
            trigger: 'schedule',
            output_notebook_sha256: 'f'.repeat(64),
            error: { cell_index: 2, ename: 'ValueError', evalue: 'bad' }
          })
        ]),
      'POST runs/r2/output': () => ({ run_id: 'r2', output_notebook_path: 'mlops-runs/r2/train.ipynb' })
    });
    const { commands, calls } = recordingCommands();
    const titles: string[] = [];
    dom.render(
      <ScheduleHistoryView
        scheduleId="sch1"
        serverSettings={serverSettings}
        commands={commands}
        active={true}
        onTitle={label => titles.push(label)}
      />
    );
    await waitFor(() => expect(q('.jp-mlops-history-run[data-run-id="r2"]')).not.toBeNull());
    await waitFor(() => expect(dom.container().querySelectorAll('.jp-mlops-history-fire')).toHaveLength(2));
    expect(titles).toEqual(['nightly']);
    expect(q('.jp-mlops-schedule-view .jp-mlops-schedule-description')!.textContent).toBe(
      'At 06:00 (Europe/Paris)'
    );
    const fires = Array.from(dom.container().querySelectorAll('.jp-mlops-history-fire'));
    expect(fires.map(f => f.getAttribute('data-status'))).toEqual(['submitted', 'skipped']);
    expect(fires[1].querySelector('.jp-mlops-history-reason')!.textContent).toBe(
      'the previous run is still active'
    );
    const runRow = q('.jp-mlops-history-run[data-run-id="r2"]')!;
    expect(runRow.getAttribute('data-status')).toBe('failed');
    expect(runRow.querySelector('.jp-mlops-row-error')!.textContent).toBe('Cell 2: ValueError: bad');
    expect(
      requests.find(r => r.url.pathname === '/mlops/api/runs')!.url.searchParams.get('schedule_id')
    ).toBe('sch1');

    click(runRow.querySelector('.jp-mlops-history-show-run'));
    click(runRow.querySelector('.jp-mlops-history-open-output'));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls).toEqual([
      ['mlops:open-panel', { tab: 'runs', id: 'r2' }],
      ['docmanager:open', { path: 'mlops-runs/r2/train.ipynb' }]
    ]);
  });

  it('says so when the schedule is gone', async () => {
    const { serverSettings } = fakeServer({
      'schedules/gone': () => json(errorBody('not_found', "no schedule 'gone'"), 404)
    });
    dom.render(
      <ScheduleHistoryView scheduleId="gone" serverSettings={serverSettings} commands={null} active={true} />
    );
    await waitFor(() => expect(q('[role="alert"]')).not.toBeNull());
    expect(q('[role="alert"]')!.textContent).toBe("no schedule 'gone'");
  });
});
