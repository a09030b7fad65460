import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';

import type { DeployStepStatus, IDeployJob, IRun } from '../api';
import { DeployProgress } from '../dialogs/DeployDialog';
import {
  curlCommand,
  deployReducer,
  exampleRecord,
  INITIAL_DEPLOY_STATE,
  isActive,
  MAX_POLL_FAILURES,
  shellQuote,
  stepViews
} from '../dialogs/deployProgress';
import {
  deployJob,
  errorBody,
  notebookParameters,
  page,
  parameterSpec,
  run as runFixture
} from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const job = deployJob;

describe('stepViews', () => {
  it('shows the four steps in order, pending before the first answer', () => {
    const views = stepViews(null);
    expect(views.map(v => v.name)).toEqual(['run', 'register', 'serve', 'healthy']);
    expect(views.every(v => v.state === 'pending' && v.seconds === null)).toBe(true);
  });

  it('orders steps by name whatever the server order, unknown states pending', () => {
    const views = stepViews({
      steps: [
        { name: 'serve', status: 'running', detail: 'deploying churn/2', started_at: '2026-01-01T00:00:10Z', finished_at: null },
        { name: 'run', status: 'skipped', detail: 'latest successful run r1', started_at: null, finished_at: '2026-01-01T00:00:01Z' },
        { name: 'register', status: 'done', detail: 'churn/2', started_at: '2026-01-01T00:00:02Z', finished_at: '2026-01-01T00:00:05Z' },
        // A state this client does not know (from a newer server).
        { name: 'healthy', status: 'weird' as DeployStepStatus, detail: '', started_at: null, finished_at: null }
      ]
    }, Date.parse('2026-01-01T00:00:13Z'));
    expect(views.map(v => [v.name, v.state])).toEqual([
      ['run', 'skipped'],
      ['register', 'done'],
      ['serve', 'running'],
      ['healthy', 'pending']
    ]);
    expect(views[1].seconds).toBe(3); // finished - started
    expect(views[2].seconds).toBe(3); // now - started while running
    expect(views[2].detail).toBe('deploying churn/2');
    expect(views[0].seconds).toBeNull();
  });
});

describe('deployReducer', () => {
  it('goes submitting → polling → succeeded and then ignores late answers', () => {
    let state = deployReducer(INITIAL_DEPLOY_STATE, { type: 'submitted', job: job() });
    expect(state.phase).toBe('polling');
    expect(isActive(state)).toBe(true);
    const done = job({ status: 'succeeded', url: 'http://127.0.0.1:5000', curl: 'curl …' });
    state = deployReducer(state, { type: 'polled', job: done });
    expect(state.phase).toBe('succeeded');
    expect(isActive(state)).toBe(false);
    // A poll that was in flight answers late with the running job: no going back.
    const after = deployReducer(state, { type: 'polled', job: job() });
    expect(after).toBe(state);
    expect(deployReducer(state, { type: 'pollFailed', message: 'x', lost: true })).toBe(state);
  });

  it('fails with the server message of the job, else the failed step detail', () => {
    const failedSteps = job().steps.map(s =>
      s.name === 'register' ? { ...s, status: 'failed' as const, detail: 'registered no model' } : s
    );
    const a = deployReducer(INITIAL_DEPLOY_STATE, {
      type: 'submitted',
      job: job({ status: 'failed', error: 'run r1 failed: ValueError: bad', steps: failedSteps })
    });
    expect(a).toMatchObject({ phase: 'failed', error: 'run r1 failed: ValueError: bad' });
    const b = deployReducer(INITIAL_DEPLOY_STATE, {
      type: 'submitted',
      job: job({ status: 'failed', error: null, steps: failedSteps })
    });
    expect(b.error).toBe('registered no model');
  });

  it('fails at once when the submit is refused', () => {
    const state = deployReducer(INITIAL_DEPLOY_STATE, {
      type: 'submitFailed',
      message: "'x.txt' is not a notebook (.ipynb)"
    });
    expect(state).toMatchObject({ phase: 'failed', error: "'x.txt' is not a notebook (.ipynb)" });
  });

  it('tolerates a few failed polls, resets on a good one, gives up after the limit', () => {
    let state = deployReducer(INITIAL_DEPLOY_STATE, { type: 'submitted', job: job() });
    state = deployReducer(state, { type: 'pollFailed', message: 'timeout', lost: false });
    expect(state).toMatchObject({ phase: 'polling', pollFailures: 1 });
    state = deployReducer(state, { type: 'polled', job: job() });
    expect(state.pollFailures).toBe(0);
    for (let i = 0; i < MAX_POLL_FAILURES; i++) {
      state = deployReducer(state, { type: 'pollFailed', message: 'timeout', lost: false });
    }
    expect(state.phase).toBe('failed');
    expect(state.error).toContain('timeout');
  });

  it('fails at once when the server no longer knows the job (404)', () => {
    let state = deployReducer(INITIAL_DEPLOY_STATE, { type: 'submitted', job: job() });
    state = deployReducer(state, {
      type: 'pollFailed',
      message: "no deploy job with id 'job1'",
      lost: true
    });
    expect(state.phase).toBe('failed');
    expect(state.error).toContain("no deploy job with id 'job1'");
  });
});

describe('curl example', () => {
  it('quotes for a POSIX shell', () => {
    expect(shellQuote('http://127.0.0.1:8000/predict')).toBe('http://127.0.0.1:8000/predict');
    expect(shellQuote(`{"a": "it's"}`)).toBe(`'{"a": "it'\\''s"}'`);
  });

  it('builds an example row from the signature and the profile means', () => {
    const row = exampleRecord(
      {
        input_type: 'dataframe',
        inputs: [
          { name: 'mean radius', dtype: 'float64', kind: 'numeric', nullable: false },
          { name: 'age', dtype: 'int64', kind: 'numeric', nullable: false },
          { name: 'city', dtype: 'object', kind: 'categorical', nullable: false, categories: ['a', 'b'] },
          { name: 'vip', dtype: 'bool', kind: 'boolean', nullable: false },
          { name: 'unknown', dtype: 'float64', kind: 'numeric', nullable: false }
        ]
      },
      { columns: { 'mean radius': { mean: 14.127291739 }, age: { mean: 41.6 } } }
    );
    expect(row).toEqual({ 'mean radius': 14.1273, age: 42, city: 'a', vip: false, unknown: 0 });
  });

  it('makes a command whose JSON body survives the shell', () => {
    const cmd = curlCommand('http://127.0.0.1:8123/', [{ "o'clock": 1.5 }]);
    expect(cmd).toBe(
      `curl -s -X POST http://127.0.0.1:8123/predict -H 'Content-Type: application/json' ` +
        `-d '{"records":[{"o'\\''clock":1.5}]}'`
    );
    // Undo the shell quoting: the body is the JSON we meant.
    const quoted = cmd.slice(cmd.indexOf("-d '") + 3);
    const unquoted = quoted.slice(1, -1).replace(/'\\''/g, "'");
    expect(JSON.parse(unquoted)).toEqual({ records: [{ "o'clock": 1.5 }] });
  });
});

describe('DeployProgress', () => {
  it('submits once, follows the job step by step, then shows the URL and curl', async () => {
    jest.useFakeTimers();
    const bodies: unknown[] = [];
    const states: IDeployJob[] = [
      job({
        steps: job().steps.map(s =>
          s.name === 'run' ? { ...s, status: 'running', detail: 'run r1: running, cell 2/4' } : s
        )
      }),
      job({
        status: 'succeeded',
        model: 'cancer',
        version: 1,
        deployment_id: 'dep1',
        url: 'http://127.0.0.1:8123',
        curl: "curl -s -X POST http://127.0.0.1:8123/predict -d '{}'",
        steps: job().steps.map(s => ({ ...s, status: 'done', detail: s.name }))
      })
    ];
    let polls = 0;
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async (input: RequestInfo | URL) => {
        const request = input as Request;
        const path = new URL(request.url).pathname;
        if (path.endsWith('/deploy/notebook') && request.method === 'POST') {
          bodies.push(JSON.parse(await request.text()));
          return new Response(JSON.stringify(job()), { status: 202 });
        }
        if (path.endsWith('/deploy/jobs/job1')) {
          const answer = states[Math.min(polls, states.length - 1)];
          polls += 1;
          return new Response(JSON.stringify(answer), { status: 200 });
        }
        return new Response('{}', { status: 404 });
      }
    });
    const finished: boolean[] = [];
    const shown: string[] = [];
    const container = document.createElement('div');
    const root = createRoot(container);
    const flush = async (ms = 0): Promise<void> => {
      await act(async () => {
        jest.advanceTimersByTime(ms);
        for (let i = 0; i < 10; i++) {
          await Promise.resolve();
        }
      });
    };
    await act(async () => {
      root.render(
        <DeployProgress
          request={{ path: 'train.ipynb', parameters: { C: 0.5 }, target: 'local' }}
          serverSettings={serverSettings}
          onFinished={ok => finished.push(ok)}
          onShowDeployment={id => shown.push(id)}
        />
      );
    });
    for (let i = 0; i < 5 && !container.querySelector('[data-phase="polling"]'); i++) {
      await flush();
    }
    expect(bodies).toEqual([{ path: 'train.ipynb', parameters: { C: 0.5 }, target: 'local' }]);
    expect(container.querySelector('.jp-mlops-deploy')!.getAttribute('data-phase')).toBe('polling');

    for (let i = 0; i < 5 && !container.querySelector('[data-step="run"][data-state="running"]'); i++) {
      await flush(1000);
    }
    const run = container.querySelector('[data-step="run"]')!;
    expect(run.getAttribute('data-state')).toBe('running');
    expect(run.textContent).toContain('run r1: running, cell 2/4');
    expect(container.querySelector('.jp-mlops-deploy-url')).toBeNull();

    for (let i = 0; i < 5 && !container.querySelector('[data-phase="succeeded"]'); i++) {
      await flush(1000);
    }
    expect(container.querySelector('.jp-mlops-deploy')!.getAttribute('data-phase')).toBe('succeeded');
    expect(container.querySelector('.jp-mlops-deploy-url')!.textContent).toBe('http://127.0.0.1:8123');
    expect(container.querySelector('.jp-mlops-deploy-curl')!.textContent).toContain('/predict');
    expect(container.querySelector('.jp-mlops-deploy-model')!.textContent).toBe('cancer/1');
    expect(finished).toEqual([true]);
    // Finished: no more polling.
    const pollsAtEnd = polls;
    await flush(5000);
    expect(polls).toBe(pollsAtEnd);
    act(() => (container.querySelector('.jp-mlops-deploy-show') as HTMLButtonElement).click());
    expect(shown).toEqual(['dep1']);
    act(() => root.unmount());
    jest.useRealTimers();
  });

  it('shows the server message when the submit is refused', async () => {
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async () =>
        new Response(
          JSON.stringify(errorBody('invalid_input', "'notes.txt' is not a notebook (.ipynb)")),
          { status: 400 }
        )
    });
    const container = document.createElement('div');
    const root = createRoot(container);
    await act(async () => {
      root.render(
        <DeployProgress
          request={{ path: 'notes.txt', parameters: {}, target: 'local' }}
          serverSettings={serverSettings}
        />
      );
    });
    for (let i = 0; i < 20 && !container.querySelector('[role="alert"]'); i++) {
      await act(async () => {
        await new Promise(resolve => setTimeout(resolve, 5));
      });
    }
    expect(container.querySelector('[role="alert"]')!.textContent).toBe(
      "'notes.txt' is not a notebook (.ipynb)"
    );
    expect(container.querySelector('.jp-mlops-deploy')!.getAttribute('data-phase')).toBe('failed');
    act(() => root.unmount());
  });
});

describe('planDeploy', () => {
  const server = (runs: IRun[], parametersStatus = 200) =>
    ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async (input: RequestInfo | URL) => {
        const url = new URL((input as Request).url);
        if (url.pathname.endsWith('/notebooks/parameters')) {
          expect(url.searchParams.get('path')).toBe('dir/train.ipynb');
          return new Response(
            JSON.stringify(
              notebookParameters({
                path: 'dir/train.ipynb',
                parameters: [
                  parameterSpec({ name: 'C', type: 'float', default: 1, default_source: '1.0' })
                ]
              })
            ),
            { status: parametersStatus }
          );
        }
        if (url.pathname.endsWith('/runs')) {
          expect(url.searchParams.get('notebook')).toBe('dir/train.ipynb');
          expect(url.searchParams.get('status')).toBe('succeeded');
          return new Response(
            JSON.stringify(page(runs, { limit: 1 })),
            { status: 200 }
          );
        }
        return new Response('{}', { status: 404 });
      }
    });

  it('needs a run (and shows the parameters) when the notebook never succeeded', async () => {
    const { planDeploy } = await import('../deploy');
    const plan = await planDeploy('dir/train.ipynb', server([]));
    expect(plan.needsRun).toBe(true);
    expect(plan.parameters.map(p => p.name)).toEqual(['C']);
  });

  it('needs no run when the latest successful run exists', async () => {
    const { planDeploy } = await import('../deploy');
    const run = runFixture({ id: 'r1', notebook_path: 'dir/train.ipynb', status: 'succeeded' });
    const plan = await planDeploy('dir/train.ipynb', server([run]));
    expect(plan).toMatchObject({ needsRun: false, latestRun: { id: 'r1' } });
  });
});
