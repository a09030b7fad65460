import {
  canRepair,
  createSchedule,
  deleteSchedule,
  errorField,
  getPipelineRun,
  isPipelineActive,
  isPipelinePath,
  listNotifications,
  listPipelineRuns,
  listScheduleFires,
  listScheduleRuns,
  listSchedules,
  MLOpsAPIError,
  notificationLink,
  repairPipelineRun,
  setScheduleActive,
  startPipelineRun,
  triggerSchedule
} from '../api';
import { errorBody, labNotification, page, pipelineRun, schedule, scheduleFire } from './fixtures';
import { fakeServer, json } from './harness';

describe('schedules client', () => {
  it('lists, creates, pauses, triggers and deletes with the right requests', async () => {
    const created = schedule({ id: 'sch9' });
    const { serverSettings, requests } = fakeServer({
      schedules: () => page([created]),
      'POST schedules': () => json(created, 201),
      'PATCH schedules/sch9': (_url, body) => ({ ...created, ...(body as object) }),
      'POST schedules/sch9/trigger': () =>
        json({ ...scheduleFire({ manual: true, run_id: 'r7' }), schedule_id: 'sch9' }, 201),
      'DELETE schedules/sch9': () => created,
      'schedules/sch9/fires': () => page([scheduleFire()]),
      runs: () => page([])
    });

    expect((await listSchedules({ offset: 0, limit: 10 }, serverSettings)).items).toEqual([created]);
    const answer = await createSchedule(
      { notebook_path: 'work/train.ipynb', cron: '0 6 * * *', timezone: 'Europe/Paris' },
      serverSettings
    );
    expect(answer.description).toBe('At 06:00 (Europe/Paris)');
    const paused = await setScheduleActive('sch9', false, serverSettings);
    expect(paused.active).toBe(false);
    const fire = await triggerSchedule('sch9', serverSettings);
    expect(fire).toMatchObject({ status: 'submitted', run_id: 'r7', manual: true });
    await listScheduleFires('sch9', { offset: 0, limit: 20 }, serverSettings);
    await listScheduleRuns('sch9', { offset: 0, limit: 20 }, serverSettings);
    await deleteSchedule('sch9', serverSettings);

    expect(requests.map(r => `${r.method} ${r.url.pathname}`)).toEqual([
      'GET /mlops/api/schedules',
      'POST /mlops/api/schedules',
      'PATCH /mlops/api/schedules/sch9',
      'POST /mlops/api/schedules/sch9/trigger',
      'GET /mlops/api/schedules/sch9/fires',
      'GET /mlops/api/runs',
      'DELETE /mlops/api/schedules/sch9'
    ]);
    expect(requests[0].url.searchParams.get('limit')).toBe('10');
    expect(requests[1].body).toEqual({
      notebook_path: 'work/train.ipynb',
      cron: '0 6 * * *',
      timezone: 'Europe/Paris'
    });
    expect(requests[2].body).toEqual({ active: false });
    expect(requests[5].url.searchParams.get('schedule_id')).toBe('sch9');
    expect(requests[6].body).toBeNull();
  });

  it('carries the field a 400 names (details.field)', async () => {
    const { serverSettings } = fakeServer({
      'POST schedules': () =>
        json(
          {
            error: {
              code: 'invalid_input',
              message: "'timezone': unknown time zone 'Mars/Olympus'",
              details: { field: 'timezone' }
            }
          },
          400
        )
    });
    let caught: unknown = null;
    try {
      await createSchedule({ notebook_path: 'a.ipynb', cron: '0 6 * * *' }, serverSettings);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MLOpsAPIError);
    expect((caught as MLOpsAPIError).status).toBe(400);
    expect((caught as MLOpsAPIError).details).toEqual({ field: 'timezone' });
    expect(errorField(caught)).toBe('timezone');
    expect(errorField(new Error('x'))).toBeNull();
  });

  it('has no field for errors without details', async () => {
    const { serverSettings } = fakeServer({
      'DELETE schedules/x': () => json(errorBody('not_found', "no schedule 'x'"), 404)
    });
    const err = await deleteSchedule('x', serverSettings).catch(e => e);
    expect(err).toBeInstanceOf(MLOpsAPIError);
    expect(errorField(err)).toBeNull();
  });
});

describe('pipelines client', () => {
  it('starts, lists, gets and repairs pipeline runs', async () => {
    const run = pipelineRun();
    const { serverSettings, requests } = fakeServer({
      'POST pipelines/runs': () => json({ ...run, status: 'running' }, 201),
      'pipelines/runs': () => page([run]),
      'pipelines/runs/pr1': () => run,
      'POST pipelines/runs/pr1/repair': () => ({ ...run, status: 'running', attempt: 2 })
    });
    const started = await startPipelineRun(
      { pipeline_path: 'flows/churn.pipeline.yaml' },
      serverSettings
    );
    expect(started.status).toBe('running');
    await listPipelineRuns({ pipeline_path: 'flows/churn.pipeline.yaml' }, serverSettings);
    expect((await getPipelineRun('pr1', serverSettings)).steps.map(s => s.name)).toEqual([
      'prepare',
      'train',
      'evaluate'
    ]);
    expect((await repairPipelineRun('pr1', serverSettings)).attempt).toBe(2);
    expect(requests[0].body).toEqual({ pipeline_path: 'flows/churn.pipeline.yaml' });
    expect(requests[1].url.searchParams.get('pipeline_path')).toBe('flows/churn.pipeline.yaml');
    expect(requests[3].method).toBe('POST');
  });

  it('knows pipeline files, active runs and when repair is allowed', () => {
    expect(isPipelinePath('flows/churn.pipeline.yaml')).toBe(true);
    expect(isPipelinePath('churn.PIPELINE.yaml')).toBe(true);
    expect(isPipelinePath('.pipeline.yaml')).toBe(false);
    expect(isPipelinePath('churn.yaml')).toBe(false);
    expect(isPipelineActive({ status: 'pending' })).toBe(true);
    expect(isPipelineActive({ status: 'running' })).toBe(true);
    expect(isPipelineActive({ status: 'failed' })).toBe(false);
    expect(canRepair({ status: 'failed' })).toBe(true);
    expect(canRepair({ status: 'cancelled' })).toBe(true);
    expect(canRepair({ status: 'succeeded' })).toBe(false);
    expect(canRepair({ status: 'running' })).toBe(false);
  });
});

describe('notifications client', () => {
  it('asks without after first, then after the last id', async () => {
    const { serverSettings, requests } = fakeServer({
      notifications: url =>
        url.searchParams.has('after')
          ? { items: [labNotification({ id: 8 })], last_id: 8 }
          : { items: [], last_id: 7 }
    });
    expect(await listNotifications(null, serverSettings)).toEqual({ items: [], last_id: 7 });
    const next = await listNotifications(7, serverSettings);
    expect(next.items.map(n => n.id)).toEqual([8]);
    expect(requests[0].url.searchParams.has('after')).toBe(false);
    expect(requests[1].url.searchParams.get('after')).toBe('7');
  });

  it('reads the ids of a link and ignores anything else', () => {
    expect(
      notificationLink(labNotification({ link: { run_id: 'r1', schedule_id: 'sch1', x: 1 } }))
    ).toEqual({ run_id: 'r1', schedule_id: 'sch1' });
    expect(notificationLink(labNotification({ link: { pipeline_run_id: 'pr1', run_id: 3 } }))).toEqual({
      pipeline_run_id: 'pr1'
    });
  });
});
