import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import type { IRunDetail } from '../api';
import { RunParametersBody } from '../dialogs/RunWithParameters';
import { environmentLines } from '../panel/comparison';
import { PanelModel } from '../panel/model';
import {
  errorLine,
  formatValue,
  progressFraction,
  progressText,
  summarizeParameters
} from '../panel/runFormat';
import { RunsTab } from '../panel/RunsTab';
import {
  errorBody,
  notebookParameters,
  page,
  parameterSpec,
  runDetail
} from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

type Handler = (url: URL, init: RequestInit) => Response;

/** A fake server answering `METHOD endpoint` (or `endpoint` for GET) from `routes`. */
function fakeServer(routes: Record<string, Handler>) {
  const requests: { method: string; url: URL; body: unknown }[] = [];
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input as Request;
      const url = new URL(request.url);
      const method = request.method;
      const text = await request.text();
      requests.push({ method, url, body: text ? JSON.parse(text) : null });
      const endpoint = url.pathname.replace(/^\/mlops\/api\//, '');
      const handler = routes[`${method} ${endpoint}`] ?? routes[endpoint];
      if (handler && (method === 'GET' || routes[`${method} ${endpoint}`])) {
        return handler(url, init ?? {});
      }
      return json(errorBody('not_found', `No route ${url.pathname}`), 404);
    }
  });
  return { serverSettings, requests };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status });
}

function run(id: string, extra: Partial<IRunDetail> = {}): IRunDetail {
  return runDetail({
    id,
    kind: 'batch',
    notebook_path: 'work/train.ipynb',
    status: 'succeeded',
    parameters: { alpha: 0.25 },
    metrics: { auc: 0.91234 },
    tags: [],
    kernel_name: 'python3',
    created_at: new Date().toISOString(),
    started_at: new Date().toISOString(),
    finished_at: null,
    duration_seconds: 4.2,
    progress: { cells_done: 3, cells_total: 3, current_cell: null },
    error: null,
    group_id: null,
    created_by: 'me',
    input_notebook_sha256: 'a'.repeat(64),
    output_notebook_sha256: 'b'.repeat(64),
    ...extra
  });
}

describe('run display helpers', () => {
  it('summarises parameters', () => {
    expect(summarizeParameters({ alpha: 0.123456, name: 'x', l: [1, 2] })).toBe(
      'alpha=0.1235, name="x", l=[1,2]'
    );
    expect(summarizeParameters({ a: 1, b: 2, c: 3, d: 4, e: 5 })).toBe(
      'a=1, b=2, c=3, +2'
    );
    expect(summarizeParameters(null)).toBe('');
    expect(formatValue('x'.repeat(100), 10)).toBe('"xxxxxxxx…');
  });

  it('shows progress only while running', () => {
    const progress = { cells_done: 2, cells_total: 8, current_cell: 2 };
    expect(progressText({ status: 'running', progress })).toBe('cell 2/8');
    expect(progressText({ status: 'succeeded', progress })).toBe('');
    expect(progressFraction({ progress })).toBe(0.25);
    expect(
      progressFraction({ progress: { cells_done: 0, cells_total: 0, current_cell: null } })
    ).toBeNull();
  });

  it('formats the error of a failed run', () => {
    expect(errorLine({ cell_index: 3, ename: 'ValueError', evalue: 'bad' })).toBe(
      'Cell 3: ValueError: bad'
    );
    expect(errorLine({ cell_index: null, ename: 'Timeout', evalue: 'slow' })).toBe(
      'Timeout: slow'
    );
    expect(errorLine(null)).toBe('');
  });
});

describe('environmentLines', () => {
  it('lists every environment difference of a reproduction', () => {
    const lines = environmentLines({
      same: false,
      notebook_sha256_equal: false,
      packages: {
        added: { polars: '1.0' },
        removed: { six: '1.16' },
        changed: { numpy: { original: '1.26.4', reproduced: '2.0.0' } }
      },
      git: { commit: { original: 'a'.repeat(40), reproduced: 'b'.repeat(40) } },
      inputs: {
        added: {},
        removed: {},
        changed: { 'data.csv': { original: 'c'.repeat(64), reproduced: 'd'.repeat(64) } }
      },
      python: { version: { original: '3.11.8', reproduced: '3.12.1' } }
    });
    expect(lines).toEqual([
      'notebook sha256 differs',
      `git commit: ${'a'.repeat(12)} → ${'b'.repeat(12)}`,
      'package numpy: 1.26.4 → 2.0.0',
      'package polars added (1.0)',
      'package six removed (was 1.16)',
      `input data.csv: ${'c'.repeat(12)} → ${'d'.repeat(12)}`,
      'python version: 3.11.8 → 3.12.1'
    ]);
  });

  it('is empty for the same environment', () => {
    const none = { added: {}, removed: {}, changed: {} };
    expect(
      environmentLines({
        same: true,
        notebook_sha256_equal: true,
        packages: none,
        git: {},
        inputs: none
      })
    ).toEqual([]);
  });
});

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

function settle(): Promise<void> {
  return act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
}

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

function renderRunsTab(model: PanelModel): void {
  const Tab = (): JSX.Element => {
    const [, setTick] = React.useState(0);
    React.useEffect(() => {
      const bump = (): void => setTick(t => t + 1);
      model.changed.connect(bump);
      return () => {
        model.changed.disconnect(bump);
      };
    }, []);
    return (
      <RunsTab
        serverSettings={model.serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
        model={model}
      />
    );
  };
  act(() => root.render(<Tab />));
}

describe('RunsTab', () => {
  it('sends the filters as query arguments and opens a run', async () => {
    const { serverSettings, requests } = fakeServer({
      runs: () => json(page([run('r1')])),
      'runs/r1': () =>
        json(
          run('r1', {
            provenance: {
              notebook_sha256: 'a'.repeat(64),
              packages: { numpy: '2.0', pandas: '2.2' },
              git: null,
              inputs: { 'data.csv': 'e'.repeat(64) },
              python: { version: '3.12.1' }
            },
            comparison: null
          })
        )
    });
    const model = new PanelModel({ serverSettings });
    renderRunsTab(model);
    await waitFor(() => expect(q('[data-run-id="r1"]')).not.toBeNull());
    expect(q('.jp-mlops-row-params')!.textContent).toBe('alpha=0.25');

    const status = q('.jp-mlops-filter-status') as HTMLSelectElement;
    act(() => {
      status.value = 'failed';
      status.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await waitFor(() =>
      expect(requests.some(r => r.url.searchParams.get('status') === 'failed')).toBe(true)
    );

    act(() => model.select('runs', 'r1'));
    await waitFor(() => expect(q('.jp-mlops-run-detail')).not.toBeNull());
    expect(q('.jp-mlops-packages summary')!.textContent).toBe('2 packages');
    expect(q('[data-key="data.csv"] .jp-mlops-hash')!.getAttribute('title')).toBe(
      'e'.repeat(64)
    );
    expect(q('.jp-mlops-parameters [data-key="alpha"] td')!.textContent).toBe('0.25');
    // No sweep runs listed: the sweeps endpoint was never asked.
    expect(requests.some(r => r.url.pathname.endsWith('/runs/sweeps'))).toBe(false);
  });

  it('shows the reproduction comparison per cell', async () => {
    const { serverSettings } = fakeServer({
      'runs/r2': () =>
        json(
          run('r2', {
            reproduces_run_id: 'r1',
            provenance: {},
            comparison: {
              original_run_id: 'r1',
              outputs_match: false,
              outputs: {
                match: false,
                matched: 1,
                total: 2,
                cells: [
                  { code_cell: 0, source: 'a = 1', match: true },
                  { code_cell: 1, source: 'print(a)', match: false, diff: '-1\n+2' }
                ]
              },
              environment: {
                same: true,
                notebook_sha256_equal: true,
                packages: { added: {}, removed: {}, changed: {} },
                git: {},
                inputs: { added: {}, removed: {}, changed: {} }
              }
            }
          })
        )
    });
    const model = new PanelModel({ serverSettings });
    model.select('runs', 'r2');
    renderRunsTab(model);
    await waitFor(() => expect(q('.jp-mlops-comparison')).not.toBeNull());
    expect(q('.jp-mlops-comparison')!.getAttribute('data-outputs-match')).toBe('false');
    expect(
      Array.from(container.querySelectorAll('.jp-mlops-cell')).map(c =>
        c.getAttribute('data-match')
      )
    ).toEqual(['true', 'false']);
    expect(q('.jp-mlops-diff')!.textContent).toBe('-1\n+2');
  });
});

describe('RunParametersBody', () => {
  const info = notebookParameters({
    path: 'train.ipynb',
    has_parameters_cell: true,
    parameters_cell_index: 1,
    parameters: [
      parameterSpec({
        name: 'alpha',
        type: 'float',
        declared_type: null,
        default: 0.5,
        default_source: '0.5',
        help: ''
      })
    ],
    kernel_name: 'python3',
    kernel_display_name: 'Python 3',
    language: 'python',
    hint: null
  });

  it("keeps the dialog open with the server's 400, then submits", async () => {
    let answer = json(
      errorBody('invalid_parameter', "parameter 'alpha' expects float, got 'x'", {
        parameter: 'alpha'
      }),
      400
    );
    const { serverSettings, requests } = fakeServer({ 'POST runs': () => answer });
    const body = new RunParametersBody(info, serverSettings);
    // The body re-renders itself (a ReactWidget) after each answer.
    const submit = async (): Promise<boolean> => {
      let ok = false;
      await act(async () => {
        ok = await body.submit();
        await new Promise(resolve => setTimeout(resolve, 0));
      });
      return ok;
    };
    expect(await submit()).toBe(false);
    expect(requests[0].body).toEqual({ notebook_path: 'train.ipynb', parameters: {} });
    expect(body.node.querySelector('[data-parameter="alpha"] .jp-mlops-param-error')!.textContent)
      .toBe("parameter 'alpha' expects float, got 'x'");

    answer = json(run('r9'), 201);
    expect(await submit()).toBe(true);
    expect(body.getValue()!.id).toBe('r9');
    act(() => body.dispose());
  });

  it('says how to add a parameters cell, and still runs without one', async () => {
    const { serverSettings, requests } = fakeServer({
      'POST runs': () => json(run('r10'), 201)
    });
    const hint =
      "This notebook has no cell tagged 'parameters'. To make it parameterisable, ...";
    const body = new RunParametersBody(
      {
        ...info,
        has_parameters_cell: false,
        parameters_cell_index: null,
        parameters: [],
        hint
      },
      serverSettings
    );
    await act(async () => {
      body.update();
      await new Promise(resolve => setTimeout(resolve, 0));
    });
    expect(body.node.querySelector('.jp-mlops-run-form-hint')!.textContent).toBe(
      `${hint} You can still run it as is.`
    );
    expect(body.node.querySelector('.jp-mlops-param')).toBeNull();
    let ok = false;
    await act(async () => {
      ok = await body.submit();
    });
    expect(ok).toBe(true);
    expect(requests[0].body).toEqual({ notebook_path: 'train.ipynb', parameters: {} });
    act(() => body.dispose());
  });
});
