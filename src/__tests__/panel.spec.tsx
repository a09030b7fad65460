import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import type { IRun } from '../api';
import { PanelModel } from '../panel/model';
import { MLOpsPanelView } from '../panel/MLOpsPanel';
import { deploymentWithStats, errorBody, page, run } from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Handler = (url: URL) => Response;

/**
 * A fake Jupyter server answering `/mlops/api/<endpoint>` from `routes`;
 * anything else gets the API's JSON 404, like the server's catch-all.
 */
function fakeServer(routes: Record<string, Handler>) {
  const requests: URL[] = [];
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: async (input: RequestInfo | URL) => {
      const url = new URL((input as Request).url);
      requests.push(url);
      const endpoint = url.pathname.replace(/^\/mlops\/api\//, '');
      const handler = routes[endpoint];
      if (handler) {
        return handler(url);
      }
      return json(errorBody('not_found', `No route ${url.pathname}`), 404);
    }
  });
  return { serverSettings, requests };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status });
}

/** `total` runs, served page by page honouring offset/limit. */
function pagedRuns(total: number): Handler {
  return url => {
    const offset = Number(url.searchParams.get('offset'));
    const limit = Number(url.searchParams.get('limit'));
    const items = [];
    for (let i = offset; i < Math.min(total, offset + limit); i++) {
      items.push(
        run({
          id: `run-${i}`,
          kind: 'batch',
          notebook_path: `experiments/train-${i}.ipynb`,
          status: i === 0 ? 'failed' : 'succeeded',
          parameters: {},
          metrics: { accuracy: 0.91234 },
          tags: [],
          kernel_name: 'python3',
          created_at: new Date().toISOString(),
          started_at: null,
          finished_at: null,
          duration_seconds: 12,
          error:
            i === 0
              ? { cell_index: 3, ename: 'ValueError', evalue: 'bad alpha' }
              : null,
          group_id: null
        })
      );
    }
    return json(page(items, { total, offset, limit }));
  };
}

let container: HTMLDivElement;
let root: Root;

beforeEach(() => {
  container = document.createElement('div');
  document.body.appendChild(container);
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

function render(model: PanelModel): void {
  act(() => root.render(<MLOpsPanelView model={model} />));
}

/** Let pending fetches and re-renders run inside act(). */
function settle(): Promise<void> {
  return act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
}

/** Settle until `check` passes, then once more for trailing updates. */
async function waitFor(check: () => void, attempts = 50): Promise<void> {
  for (let i = 0; ; i++) {
    await settle();
    try {
      check();
      break;
    } catch (err) {
      if (i >= attempts) {
        throw err;
      }
    }
  }
  await settle();
}

const q = (selector: string) => container.querySelector(selector);

function visibleModel(serverSettings: ServerConnection.ISettings): PanelModel {
  // refreshInterval 0: no polling, so request counts are deterministic.
  const model = new PanelModel({
    serverSettings,
    settings: { refreshInterval: 0 }
  });
  model.visible = true;
  return model;
}

describe('MLOpsPanelView', () => {
  it('renders the six tabs with Runs selected', async () => {
    const { serverSettings } = fakeServer({});
    render(visibleModel(serverSettings));
    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());

    const tabs = Array.from(container.querySelectorAll('[role="tab"]'));
    expect(tabs.map(t => t.textContent)).toEqual([
      'Runs',
      'Models',
      'Deployments',
      'Drift',
      'Schedules',
      'Pipelines'
    ]);
    expect(tabs.map(t => t.getAttribute('data-tab'))).toEqual([
      'runs',
      'models',
      'deployments',
      'drift',
      'schedules',
      'pipelines'
    ]);
    expect(tabs.map(t => t.getAttribute('aria-selected'))).toEqual([
      'true',
      'false',
      'false',
      'false',
      'false',
      'false'
    ]);
  });

  it('shows the empty state, and nothing else, when the endpoint answers 404', async () => {
    const { serverSettings, requests } = fakeServer({});
    render(visibleModel(serverSettings));

    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());
    expect(q('.jp-mlops-empty')!.textContent).toBe(
      "No runs yet. Open a notebook and click 'Run with parameters' in its " +
        'toolbar, or run %mlops run notebook.ipynb / jupyter mlops run notebook.ipynb.'
    );
    expect(q('.jp-mlops-error')).toBeNull();
    expect(q('.jp-mlops-list')).toBeNull();
    expect(requests.map(u => u.pathname)).toEqual(['/mlops/api/runs']);
  });

  it('shows the empty state for an empty list', async () => {
    const { serverSettings } = fakeServer({
      models: () => json(page([]))
    });
    const model = visibleModel(serverSettings);
    model.activeTab = 'models';
    render(model);

    await waitFor(() =>
      expect(q('.jp-mlops-empty')?.textContent).toContain(
        'mlops.register_model(model, "name", X_sample=X_train)'
      )
    );
  });

  it("shows other errors inline with the server's message", async () => {
    const { serverSettings } = fakeServer({
      deployments: () =>
        json(errorBody('internal', 'The store is locked.'), 500)
    });
    const model = visibleModel(serverSettings);
    model.activeTab = 'deployments';
    render(model);

    await waitFor(() =>
      expect(q('[role="alert"]')?.textContent).toBe('The store is locked.')
    );
    expect(q('.jp-mlops-empty')).toBeNull();
  });

  it("lists deployments with the model's name from `model`", async () => {
    const { serverSettings } = fakeServer({
      deployments: () =>
        json(
          page([
            deploymentWithStats({
              id: 'dep7',
              name: 'churn-local',
              model: 'churn',
              version: 3,
              follows_alias: 'production',
              url: 'http://127.0.0.1:8123'
            })
          ])
        )
    });
    const model = visibleModel(serverSettings);
    model.activeTab = 'deployments';
    render(model);

    await waitFor(() => expect(q('[data-deployment-id="dep7"]')).not.toBeNull());
    const row = q('[data-deployment-id="dep7"]')!;
    expect(row.querySelector('.jp-mlops-version')!.textContent).toBe('churn/3');
    expect(row.querySelector('.jp-mlops-alias')!.textContent).toBe('@production');
    expect(row.querySelector('.jp-mlops-deployment-url')!.textContent).toBe(
      'http://127.0.0.1:8123'
    );
  });

  it('pages through the server-side list with Previous/Next', async () => {
    const { serverSettings, requests } = fakeServer({ runs: pagedRuns(120) });
    render(visibleModel(serverSettings));

    await waitFor(() =>
      expect(q('.jp-mlops-pager-range')?.textContent).toBe('1–50 of 120')
    );
    expect(container.querySelectorAll('.jp-mlops-item')).toHaveLength(50);
    expect(q('.jp-mlops-row-error')?.textContent).toBe(
      'Cell 3: ValueError: bad alpha'
    );
    const previous = q('.jp-mlops-pager-previous') as HTMLButtonElement;
    const next = q('.jp-mlops-pager-next') as HTMLButtonElement;
    expect(previous.disabled).toBe(true);

    act(() => next.click());
    await waitFor(() =>
      expect(q('.jp-mlops-pager-range')?.textContent).toBe('51–100 of 120')
    );
    act(() => (q('.jp-mlops-pager-next') as HTMLButtonElement).click());
    await waitFor(() =>
      expect(q('.jp-mlops-pager-range')?.textContent).toBe('101–120 of 120')
    );
    expect(container.querySelectorAll('.jp-mlops-item')).toHaveLength(20);
    expect((q('.jp-mlops-pager-next') as HTMLButtonElement).disabled).toBe(
      true
    );
    expect(requests.map(u => u.searchParams.get('offset'))).toEqual([
      '0',
      '50',
      '100'
    ]);
  });

  it('hides the pager when everything fits on one page', async () => {
    const { serverSettings } = fakeServer({ runs: pagedRuns(3) });
    render(visibleModel(serverSettings));

    await waitFor(() =>
      expect(container.querySelectorAll('.jp-mlops-item')).toHaveLength(3)
    );
    expect(q('.jp-mlops-pager')).toBeNull();
  });

  it('fetches the selected tab and re-fetches on refresh', async () => {
    const { serverSettings, requests } = fakeServer({ runs: pagedRuns(1) });
    const model = visibleModel(serverSettings);
    render(model);
    await waitFor(() => expect(requests).toHaveLength(1));

    // The Drift tab fetches its monitors and the open alerts.
    const driftPaths = ['/mlops/api/drift/alerts', '/mlops/api/drift/monitors'];
    act(() => (q('[data-tab="drift"]') as HTMLButtonElement).click());
    await waitFor(() => expect(requests).toHaveLength(3));
    expect(requests.slice(1).map(u => u.pathname).sort()).toEqual(driftPaths);
    expect(q('[data-tab="drift"]')!.getAttribute('aria-selected')).toBe('true');
    expect(q('[role="tabpanel"]')!.getAttribute('aria-labelledby')).toBe(
      'jp-mlops-tab-drift'
    );

    act(() => model.refresh());
    await waitFor(() => expect(requests).toHaveLength(5));
    expect(requests.slice(3).map(u => u.pathname).sort()).toEqual(driftPaths);
  });

  it('does not fetch while the panel is hidden', async () => {
    const { serverSettings, requests } = fakeServer({ runs: pagedRuns(1) });
    const model = new PanelModel({ serverSettings });
    render(model);
    await settle();
    expect(requests).toHaveLength(0);

    act(() => {
      model.visible = true;
    });
    await waitFor(() => expect(requests).toHaveLength(1));
  });

  describe('polling (Lumino Poll, fake timers)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    /** Advance the fake clock by `ms`, letting fetches and renders run. */
    const advance = async (ms = 0): Promise<void> => {
      await act(async () => {
        jest.advanceTimersByTime(ms);
        for (let i = 0; i < 20; i++) {
          await Promise.resolve();
        }
      });
    };
    /** Advance in small steps until `count()` reaches `n` (at most `ms`). */
    const until = async (count: () => number, n: number, ms: number): Promise<void> => {
      for (let waited = 0; count() < n && waited <= ms; waited += 100) {
        await advance(100);
      }
    };

    it('re-fetches every refreshInterval while shown, never while hidden', async () => {
      const { serverSettings, requests } = fakeServer({ runs: pagedRuns(1) });
      const model = new PanelModel({ serverSettings, settings: { refreshInterval: 5 } });
      model.visible = true;
      render(model);
      await until(() => requests.length, 1, 1000);
      expect(requests).toHaveLength(1);

      await advance(4000);
      expect(requests).toHaveLength(1);
      await until(() => requests.length, 2, 2000);
      expect(requests).toHaveLength(2);

      act(() => {
        model.visible = false;
      });
      await advance(20000);
      expect(requests).toHaveLength(2);

      act(() => {
        model.visible = true;
      });
      await until(() => requests.length, 3, 1000);
      expect(requests).toHaveLength(3);
    });

    it('polls fast while a listed run is active, then stops when it ended', async () => {
      let status: IRun['status'] = 'running';
      const { serverSettings, requests } = fakeServer({
        runs: () => json(page([run({ id: 'live', status })]))
      });
      // refreshInterval 0: only the live interval (2 s) polls.
      const model = visibleModel(serverSettings);
      render(model);
      await until(() => requests.length, 1, 1000);
      await until(() => requests.length, 2, 3000);
      expect(requests).toHaveLength(2);

      status = 'succeeded';
      await until(() => requests.length, 3, 3000);
      expect(requests).toHaveLength(3);
      await advance(10000);
      expect(requests).toHaveLength(3);
      expect(q('[data-run-id="live"]')).not.toBeNull();
    });
  });

  it('shows the server check problem above the tabs', async () => {
    const { serverSettings } = fakeServer({});
    const model = visibleModel(serverSettings);
    render(model);
    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());
    expect(q('.jp-mlops-banner')).toBeNull();

    act(() => {
      model.server = { status: 'missing', message: 'Enable the extension.' };
    });
    expect(q('.jp-mlops-banner')?.textContent).toBe('Enable the extension.');

    act(() => {
      model.server = { status: 'ok', message: '', version: '0.1.0' };
    });
    expect(q('.jp-mlops-banner')).toBeNull();
  });
});
