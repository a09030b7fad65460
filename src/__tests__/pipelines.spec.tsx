import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { act } from 'react';

import type { IPipelineRun } from '../api';
import { PanelModel } from '../panel/model';
import { PipelinesTab } from '../panel/PipelinesTab';
import { layoutDag, stepDepths } from '../views/dagLayout';
import { createView, viewId } from '../views/mainArea';
import { pipelineTitle, stepAttempts, stepCounts } from '../views/pipelineFormat';
import { PipelineRunView } from '../views/PipelineRunView';
import { page, pipelineRun, pipelineStep } from './fixtures';
import { click, fakeServer, json, reactRoot, waitFor, writes } from './harness';

const BOX = { nodeWidth: 100, nodeHeight: 40, columnGap: 20, rowGap: 10, margin: 5 };

describe('layoutDag', () => {
  const step = (name: string, ...depends_on: string[]) => ({ name, depends_on });

  it('puts each step in the column of its dependency depth', () => {
    const steps = [
      step('prepare'),
      step('lint'),
      step('train', 'prepare'),
      step('evaluate', 'train', 'lint'),
      step('register', 'evaluate')
    ];
    expect(Object.fromEntries(stepDepths(steps))).toEqual({
      prepare: 0,
      lint: 0,
      train: 1,
      evaluate: 2,
      register: 3
    });
    const layout = layoutDag(steps, BOX);
    expect(layout.nodes.map(n => [n.step.name, n.depth, n.row])).toEqual([
      ['prepare', 0, 0],
      ['lint', 0, 1],
      ['train', 1, 0],
      ['evaluate', 2, 0],
      ['register', 3, 0]
    ]);
    expect(layout.nodes.map(n => n.x)).toEqual([5, 5, 125, 245, 365]);
    // Two rows in the tallest column; the single steps centred on them.
    expect(layout.height).toBe(5 + 40 + 10 + 40 + 5);
    expect(layout.width).toBe(5 + 4 * 120 - 20 + 5);
    const prepare = layout.nodes[0];
    const lint = layout.nodes[1];
    const train = layout.nodes[2];
    expect([prepare.y, lint.y, train.y]).toEqual([5, 55, 30]);
  });

  it('draws an edge from the right middle of a step to the left middle of its dependant', () => {
    const layout = layoutDag([step('a'), step('b', 'a')], BOX);
    expect(layout.edges).toEqual([{ from: 'a', to: 'b', x1: 105, y1: 25, x2: 125, y2: 25 }]);
  });

  it('orders a column by the rows of the dependencies (fewer crossings)', () => {
    const layout = layoutDag(
      [step('a'), step('b'), step('from-b', 'b'), step('from-a', 'a')],
      BOX
    );
    const rows = Object.fromEntries(layout.nodes.map(n => [n.step.name, n.row]));
    expect(rows).toEqual({ a: 0, b: 1, 'from-a': 0, 'from-b': 1 });
  });

  it('ignores unknown dependencies and survives a cycle', () => {
    expect(Object.fromEntries(stepDepths([step('a', 'ghost'), step('b', 'a')]))).toEqual({
      a: 0,
      b: 1
    });
    const cyclic = layoutDag([step('x', 'y'), step('y', 'x')], BOX);
    expect(cyclic.nodes).toHaveLength(2);
    expect(layoutDag([], BOX)).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
  });
});

describe('pipeline formatting', () => {
  it('counts steps by state, and names attempts and tries', () => {
    expect(stepCounts(pipelineRun())).toBe('1 succeeded · 1 failed · 1 skipped');
    expect(stepAttempts({ attempt: 2, tries: 1 })).toBe('attempt 2 · 1 try');
    expect(stepAttempts({ attempt: 1, tries: 3 })).toBe('attempt 1 · 3 tries');
    expect(pipelineTitle({ name: '', pipeline_path: 'a/b/train.pipeline.yaml' })).toBe('train');
    expect(pipelineTitle({ name: 'churn', pipeline_path: 'x.pipeline.yaml' })).toBe('churn');
  });
});

/** Records the commands the views run. */
function recordingCommands(): { commands: CommandRegistry; calls: [string, unknown][] } {
  const commands = new CommandRegistry();
  const calls: [string, unknown][] = [];
  for (const id of [
    'mlops:open-panel',
    'mlops:open-pipeline-run',
    'mlops:open-schedule',
    'docmanager:open'
  ]) {
    commands.addCommand(id, {
      execute: args => {
        calls.push([id, args]);
      }
    });
  }
  return { commands, calls };
}

describe('PipelineRunView', () => {
  const dom = reactRoot();
  const q = (selector: string) => dom.container().querySelector(selector);

  it('draws the DAG with each step’s status, attempts, reused badge and errors', async () => {
    const run = pipelineRun({
      attempt: 2,
      status: 'failed',
      steps: [
        pipelineStep({ name: 'prepare', status: 'succeeded', run_id: 'r1', tries: 1, reused: true }),
        pipelineStep({
          name: 'train',
          depends_on: ['prepare'],
          status: 'failed',
          run_id: 'r3',
          attempt: 2,
          tries: 2,
          error: 'ValueError: still bad'
        }),
        pipelineStep({ name: 'evaluate', depends_on: ['train'], status: 'skipped' })
      ]
    });
    const { serverSettings } = fakeServer({ 'pipelines/runs/pr1': () => run });
    dom.render(
      <PipelineRunView runId="pr1" serverSettings={serverSettings} commands={null} active={true} />
    );
    await waitFor(() => expect(q('.jp-mlops-dag')).not.toBeNull());

    const view = q('.jp-mlops-pipeline-view')!;
    expect(view.getAttribute('data-status')).toBe('failed');
    expect(view.getAttribute('data-attempt')).toBe('2');
    const boxes = Array.from(dom.container().querySelectorAll('.jp-mlops-dag-node'));
    expect(boxes.map(b => [b.getAttribute('data-step'), b.getAttribute('data-status')])).toEqual([
      ['prepare', 'succeeded'],
      ['train', 'failed'],
      ['evaluate', 'skipped']
    ]);
    const lefts = boxes.map(b => parseFloat((b as HTMLElement).style.left));
    expect(lefts[0]).toBeLessThan(lefts[1]);
    expect(lefts[1]).toBeLessThan(lefts[2]);
    expect(boxes[0].querySelector('.jp-mlops-dag-reused')?.textContent).toBe('reused');
    expect(boxes[1].querySelector('.jp-mlops-dag-reused')).toBeNull();
    expect(boxes[1].querySelector('.jp-mlops-dag-node-attempts')!.textContent).toBe(
      'attempt 2 · 2 tries'
    );
    expect(boxes[1].classList.contains('jp-mlops-dag-node-failed')).toBe(true);
    expect(dom.container().querySelectorAll('line.jp-mlops-dag-edge')).toHaveLength(2);
    expect(q('[data-step="train"] .jp-mlops-status')!.textContent).toBe('failed');
    expect(q('.jp-mlops-pipeline-errors [data-step="train"]')!.textContent).toBe(
      'train: ValueError: still bad'
    );
    // Failed: Repair, no Cancel.
    expect(q('.jp-mlops-pipeline-repair')).not.toBeNull();
    expect(q('.jp-mlops-pipeline-cancel')).toBeNull();
    // Without the app's commands the step links are off.
    expect((q('[data-step="train"] .jp-mlops-dag-open-output') as HTMLButtonElement).disabled).toBe(
      true
    );
  });

  it('repairs a failed run, then shows it running with Cancel', async () => {
    let current: IPipelineRun = pipelineRun();
    const { serverSettings, requests } = fakeServer({
      'pipelines/runs/pr1': () => current,
      'POST pipelines/runs/pr1/repair': () => {
        current = pipelineRun({
          status: 'running',
          attempt: 2,
          error: null,
          steps: current.steps.map(step =>
            step.name === 'prepare'
              ? { ...step, reused: true }
              : step.name === 'train'
                ? { ...step, status: 'running', attempt: 2, run_id: 'r4', error: null }
                : { ...step, status: 'pending' }
          )
        });
        return current;
      }
    });
    dom.render(
      <PipelineRunView runId="pr1" serverSettings={serverSettings} commands={null} active={true} />
    );
    await waitFor(() => expect(q('.jp-mlops-pipeline-repair')).not.toBeNull());
    click(q('.jp-mlops-pipeline-repair'));
    await waitFor(() =>
      expect(q('.jp-mlops-pipeline-view')!.getAttribute('data-status')).toBe('running')
    );
    expect(writes(requests)).toEqual(['POST pipelines/runs/pr1/repair']);
    expect(q('.jp-mlops-pipeline-repair')).toBeNull();
    expect(q('.jp-mlops-pipeline-cancel')).not.toBeNull();
    expect(q('[data-step="prepare"]')!.getAttribute('data-reused')).toBe('true');
    expect(q('[data-step="train"]')!.getAttribute('data-run-id')).toBe('r4');
  });

  it('opens a step’s run in the Runs tab and its output notebook', async () => {
    const { serverSettings, requests } = fakeServer({
      'pipelines/runs/pr1': () => pipelineRun(),
      'POST runs/r2/output': () => ({
        run_id: 'r2',
        output_notebook_path: 'mlops-runs/r2/train.ipynb'
      })
    });
    const { commands, calls } = recordingCommands();
    dom.render(
      <PipelineRunView runId="pr1" serverSettings={serverSettings} commands={commands} active={true} />
    );
    await waitFor(() => expect(q('[data-step="train"]')).not.toBeNull());
    click(q('[data-step="train"] .jp-mlops-dag-open-run'));
    click(q('[data-step="train"] .jp-mlops-dag-open-output'));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls).toEqual([
      ['mlops:open-panel', { tab: 'runs', id: 'r2' }],
      ['docmanager:open', { path: 'mlops-runs/r2/train.ipynb' }]
    ]);
    expect(writes(requests)).toEqual(['POST runs/r2/output']);
    // A step that never ran has nothing to open.
    expect((q('[data-step="evaluate"] .jp-mlops-dag-open-run') as HTMLButtonElement).disabled).toBe(
      true
    );
  });

  describe('polling (fake timers)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    const advance = async (ms: number): Promise<void> => {
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

    it('polls while the run is active and stops once it has finished', async () => {
      let status: IPipelineRun['status'] = 'running';
      const { serverSettings, requests } = fakeServer({
        'pipelines/runs/pr1': () => pipelineRun({ status })
      });
      dom.render(
        <PipelineRunView runId="pr1" serverSettings={serverSettings} commands={null} active={true} />
      );
      await until(() => requests.length, 1, 1000);
      expect(requests).toHaveLength(1);
      await advance(1000);
      expect(requests).toHaveLength(1);
      await until(() => requests.length, 2, 2000);
      expect(requests).toHaveLength(2);
      status = 'succeeded';
      await until(() => requests.length, 3, 3000);
      expect(requests).toHaveLength(3);
      await advance(500);
      expect(q('.jp-mlops-pipeline-view')!.getAttribute('data-status')).toBe('succeeded');
      await advance(20000);
      expect(requests).toHaveLength(3);
    });
  });
});

describe('PipelinesTab', () => {
  const dom = reactRoot();
  const q = (selector: string) => dom.container().querySelector(selector);

  function renderTab(model: PanelModel): void {
    dom.render(
      <PipelinesTab
        serverSettings={model.serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
        model={model}
      />
    );
  }

  it('lists recent pipeline runs and opens one in the main area', async () => {
    const { serverSettings } = fakeServer({ 'pipelines/runs': () => page([pipelineRun()]) });
    const { commands, calls } = recordingCommands();
    renderTab(new PanelModel({ serverSettings, commands }));
    await waitFor(() => expect(q('[data-pipeline-run-id="pr1"]')).not.toBeNull());
    const row = q('[data-pipeline-run-id="pr1"]')!;
    expect(row.getAttribute('data-status')).toBe('failed');
    expect(row.querySelector('.jp-mlops-row-open')!.textContent).toBe('churn');
    expect(row.querySelector('.jp-mlops-pipeline-steps')!.textContent).toBe(
      '1 succeeded · 1 failed · 1 skipped'
    );
    click(row.querySelector('.jp-mlops-row-open'));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toEqual(['mlops:open-pipeline-run', { id: 'pr1' }]);
  });

  it('shows the empty state for no runs', async () => {
    const { serverSettings } = fakeServer({ 'pipelines/runs': () => page([]) });
    renderTab(new PanelModel({ serverSettings }));
    await waitFor(() => expect(q('.jp-mlops-empty')).not.toBeNull());
    expect(q('.jp-mlops-empty')!.textContent).toContain("choose 'Run pipeline'");
  });

  it('runs a pipeline file typed in "Run pipeline…" and opens its DAG', async () => {
    const { serverSettings, requests } = fakeServer({
      'pipelines/runs': () => page([]),
      'POST pipelines/runs': (_url, body) =>
        json(
          pipelineRun({
            id: 'pr9',
            status: 'running',
            pipeline_path: (body as { pipeline_path: string }).pipeline_path
          }),
          201
        )
    });
    const { commands, calls } = recordingCommands();
    renderTab(new PanelModel({ serverSettings, commands }));
    await waitFor(() => expect(q('.jp-mlops-run-pipeline')).not.toBeNull());
    click(q('.jp-mlops-run-pipeline'));
    const input = q('#jp-mlops-pipeline-path') as HTMLInputElement;
    const type = (value: string): void =>
      act(() => {
        const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
        setter.call(input, value);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });

    type('notes.yaml');
    click(q('.jp-mlops-run-pipeline-submit'));
    await waitFor(() => expect(q('.jp-mlops-run-pipeline-form [role="alert"]')).not.toBeNull());
    expect(q('.jp-mlops-run-pipeline-form [role="alert"]')!.textContent).toBe(
      'pipeline_path: expected a *.pipeline.yaml file, got "notes.yaml"'
    );
    expect(writes(requests)).toEqual([]);

    type('flows/churn.pipeline.yaml');
    click(q('.jp-mlops-run-pipeline-submit'));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toEqual(['mlops:open-pipeline-run', { id: 'pr9' }]);
    expect(writes(requests)).toEqual(['POST pipelines/runs']);
    expect(requests.find(r => r.method === 'POST')!.body).toEqual({
      pipeline_path: 'flows/churn.pipeline.yaml'
    });
    expect(q('#jp-mlops-pipeline-path')).toBeNull();
  });
});

describe('main-area views', () => {
  it('are MainAreaWidgets that tell their view whether it is on screen', async () => {
    const seen: boolean[] = [];
    const widget = createView({
      kind: 'pipeline-run',
      resourceId: 'pr/1',
      label: 'Pipeline run pr/1',
      caption: 'steps',
      render: ({ active, onTitle }) => {
        seen.push(active);
        return <button onClick={() => onTitle('Pipeline: churn')}>name</button>;
      }
    });
    expect(widget.id).toBe(viewId('pipeline-run', 'pr/1'));
    expect(widget.id).toBe('jp-mlops-pipeline-run-pr_1');
    expect(widget.content.resourceId).toBe('pr/1');
    act(() => Widget.attach(widget, document.body));
    await waitFor(() => expect(seen[seen.length - 1]).toBe(true));
    click(widget.node.querySelector('button'));
    expect(widget.title.label).toBe('Pipeline: churn');
    act(() => widget.hide());
    await waitFor(() => expect(seen[seen.length - 1]).toBe(false));
    act(() => widget.dispose());
  });
});
