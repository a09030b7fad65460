import { IRenderMime, RenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { act } from 'react';

import { IChart, IMonitorRules } from '../api';
import { showDeploymentDrift } from '../deploy';
import {
  DeploymentDrift,
  formToRules,
  rulesToForm
} from '../panel/DeploymentDrift';
import { PanelModel } from '../panel/model';
import { alert, driftColumn, driftResult, monitor, page } from './fixtures';
import { click, fakeServer, reactRoot, waitFor, writes } from './harness';

const VEGALITE = 'application/vnd.vegalite.v5+json';

/** What `GET drift/monitors/{id}/chart` answers (the shape charts.py builds). */
const CHART: IChart = {
  data: {
    [VEGALITE]: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      description: 'Drift share over 1 check; latest 10% drifted',
      data: { values: [{ check: 1, drift_share: 0.1, drifted: false }] },
      mark: 'point'
    },
    'text/plain': 'Drift share over 1 check; latest 10% drifted'
  },
  metadata: { [VEGALITE]: { embed_options: { renderer: 'svg', actions: false } } },
  description: 'Drift share over 1 check; latest 10% drifted',
  points: 1
};

/** What a stand-in for JupyterLab's Vega renderer (which needs a real canvas) was handed. */
interface IDrawn {
  spec: unknown;
  embedOptions: Record<string, unknown>;
  attached: boolean;
}

/**
 * Records each model it renders; like the real one, it writes the dark theme
 * into the embed options it is given when the lab's theme is dark.
 */
function vegaStandIn(drawn: IDrawn[]): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [VEGALITE],
    createRenderer: () => {
      const widget = new (class extends Widget implements IRenderMime.IRenderer {
        async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
          const meta = model.metadata[VEGALITE] as { embed_options: Record<string, unknown> };
          if (document.body.dataset.jpThemeLight === 'false') {
            meta.embed_options.theme = 'dark';
          }
          drawn.push({
            spec: model.data[VEGALITE],
            embedOptions: { ...meta.embed_options },
            attached: this.isAttached
          });
          this.node.innerHTML = '<div class="vega-embed"><svg></svg></div>';
        }
      })();
      return widget;
    }
  };
}

const DEFAULT_RULES: IMonitorRules = {
  drift_share: 0.5,
  mean_shift_pct: 20,
  missing_rate: 0.05,
  performance_drop: 0.1,
  features: null
};

const STORED_CONFIG = {
  window: { last_n: 1000 },
  rolling: { size: 500, count: 12 },
  methods: null,
  columns: null,
  rules: DEFAULT_RULES,
  channels: {},
  retrain: null,
  min_rows: 30,
  min_labelled: 20,
  last_error: null
};

function alerted() {
  return monitor({
    id: 'mon1',
    deployment_id: 'dep1',
    status: 'alert',
    model_version: 3,
    interval_seconds: 300,
    drift_share: 0.1,
    latest_result_id: 7,
    open_alerts: 1,
    config: STORED_CONFIG
  });
}

function routes(items = [alerted()]) {
  return {
    'drift/monitors': () => page(items),
    'drift/monitors/mon1/chart': () => CHART,
    'drift/results/7': () => ({
      ...driftResult({ id: 7, drift_share: 0.1, n_drifted: 1, n_rows: 341 }),
      columns: [
        driftColumn({ column: 'mean radius', drifted: true, statistic: 0.4 }),
        driftColumn({ column: 'mean texture', statistic: 0.05 })
      ]
    }),
    'drift/alerts': () =>
      page([
        alert({
          id: 4,
          rule: 'mean_shift_pct',
          message: "mean of 'mean radius' shifted by +20.0 %"
        })
      ]),
    'PUT drift/monitors/mon1': () => alerted(),
    'POST drift/monitors': () => alerted()
  };
}

describe('rules in the form', () => {
  it('shows shares as percentages and reads them back, empty meaning off', () => {
    const form = rulesToForm(DEFAULT_RULES);
    expect(form).toEqual({
      drift_share: '50',
      mean_shift_pct: '20',
      missing_rate: '5',
      performance_drop: '10'
    });
    expect(
      formToRules({ ...form, missing_rate: '2.5', performance_drop: '' }, DEFAULT_RULES)
    ).toEqual({ ...DEFAULT_RULES, missing_rate: 0.025, performance_drop: null });
    expect(formToRules({ ...form, drift_share: '-1' }, DEFAULT_RULES)).toBe(
      'Drifted features (%): a number ≥ 0, or empty to switch the rule off'
    );
  });
});

describe('DeploymentDrift', () => {
  const root = reactRoot();
  const props = { active: true, refreshInterval: 0, refreshToken: 0 };

  it('shows the monitor: status, rules, open alerts, chart and feature table', async () => {
    const { serverSettings, requests } = fakeServer(routes());
    root.render(
      <DeploymentDrift {...props} serverSettings={serverSettings} deploymentId="dep1" />
    );
    const container = root.container();
    await waitFor(() =>
      expect(container.querySelector('.jp-mlops-feature-table')).not.toBeNull()
    );
    expect(requests[0].url.searchParams.get('deployment_id')).toBe('dep1');
    const section = container.querySelector('[data-section="drift"]')!;
    expect(section.querySelector('.jp-mlops-status')!.textContent).toBe('alert');
    expect(section.textContent).toContain('reference v3');
    expect(section.textContent).toContain('every 300 s');
    expect(
      [...section.querySelectorAll('.jp-mlops-drift-rules li')].map(li => li.textContent)
    ).toEqual([
      'Drifted features > 50 %',
      'Mean shift ≥ 20 %',
      'Missing values > 5 %',
      'Performance drop > 10 %'
    ]);
    expect(section.querySelector('.jp-mlops-alert-message')!.textContent).toBe(
      "mean of 'mean radius' shifted by +20.0 %"
    );
    expect(section.querySelector('.jp-mlops-drift-chart figcaption')!.textContent).toBe(
      CHART.description
    );
    expect(section.querySelectorAll('.jp-mlops-feature-table tbody tr.jp-mod-drifted')).toHaveLength(1);
    const alertsQuery = requests.find(r => r.url.pathname.endsWith('drift/alerts'))!;
    expect(alertsQuery.url.searchParams.get('monitor_id')).toBe('mon1');
    expect(alertsQuery.url.searchParams.get('acknowledged')).toBe('false');
  });

  it("hands the server's chart to the lab's Vega-Lite renderer, again when the theme changes", async () => {
    const { serverSettings, requests } = fakeServer(routes());
    const drawn: IDrawn[] = [];
    const rendermime = new RenderMimeRegistry({ initialFactories: [vegaStandIn(drawn)] });
    const model = new PanelModel({ serverSettings, rendermime });
    document.body.dataset.jpThemeLight = 'true';
    root.render(
      <DeploymentDrift
        {...props}
        serverSettings={serverSettings}
        deploymentId="dep1"
        model={model}
      />
    );
    const container = root.container();
    await waitFor(() => expect(drawn).toHaveLength(1));
    const chartQuery = requests.find(r => r.url.pathname.endsWith('drift/monitors/mon1/chart'))!;
    expect(chartQuery.url.searchParams.get('limit')).toBe('100');
    expect(drawn[0]).toEqual({
      spec: CHART.data[VEGALITE],
      embedOptions: { renderer: 'svg', actions: false },
      attached: true
    });
    const figure = container.querySelector('[data-section="drift"] .jp-mlops-drift-chart')!;
    expect(figure.querySelectorAll('.vega-embed svg')).toHaveLength(1);
    // The lab turns dark: drawn again in Vega's dark theme; back to light: no theme is left over.
    await act(async () => {
      document.body.dataset.jpThemeLight = 'false';
    });
    await waitFor(() => expect(drawn).toHaveLength(2));
    expect(drawn[1].embedOptions.theme).toBe('dark');
    await act(async () => {
      document.body.dataset.jpThemeLight = 'true';
    });
    await waitFor(() => expect(drawn).toHaveLength(3));
    expect(drawn[2].embedOptions).toEqual({ renderer: 'svg', actions: false });
    expect(figure.querySelectorAll('.vega-embed svg')).toHaveLength(1); // the old view is gone
  });

  it('disables the monitor and saves edited rules, keeping the rest of its config', async () => {
    const { serverSettings, requests } = fakeServer(routes());
    root.render(
      <DeploymentDrift {...props} serverSettings={serverSettings} deploymentId="dep1" />
    );
    const container = root.container();
    await waitFor(() =>
      expect(container.querySelector('.jp-mlops-drift-toggle')).not.toBeNull()
    );
    expect(container.querySelector('.jp-mlops-drift-toggle')!.textContent).toBe('Disable');
    click(container.querySelector('.jp-mlops-drift-toggle'));
    await waitFor(() => expect(writes(requests)).toEqual(['PUT drift/monitors/mon1']));
    expect(requests.find(r => r.method === 'PUT')!.body).toEqual({ enabled: false });

    click(container.querySelector('.jp-mlops-drift-edit-rules'));
    const input = container.querySelector('input[name="mean_shift_pct"]') as HTMLInputElement;
    expect(input.value).toBe('20');
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, '25');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(input.value).toBe('25');
    click(container.querySelector('.jp-mlops-drift-save-rules'));
    await waitFor(() => expect(writes(requests)).toHaveLength(2));
    const body = requests.filter(r => r.method === 'PUT')[1].body as {
      config: Record<string, unknown>;
    };
    const { last_error: _dropped, ...kept } = STORED_CONFIG;
    expect(body).toEqual({
      config: { ...kept, rules: { ...DEFAULT_RULES, mean_shift_pct: 25 } }
    });
    await waitFor(() => expect(container.textContent).toContain('Rules saved.'));
  });

  it('offers the default monitor to a deployment without one', async () => {
    const { serverSettings, requests } = fakeServer(routes([]));
    root.render(
      <DeploymentDrift {...props} serverSettings={serverSettings} deploymentId="dep1" />
    );
    const container = root.container();
    await waitFor(() =>
      expect(container.querySelector('.jp-mlops-drift-enable')).not.toBeNull()
    );
    expect(container.querySelector('.jp-mlops-status')!.textContent).toBe('not monitored');
    click(container.querySelector('.jp-mlops-drift-enable'));
    await waitFor(() => expect(writes(requests)).toEqual(['POST drift/monitors']));
    expect(requests.find(r => r.method === 'POST')!.body).toEqual({ deployment_id: 'dep1' });
  });
});

describe('showDeploymentDrift', () => {
  it("opens the Drift tab on the deployment's monitor, or on the list without one", async () => {
    const opened: unknown[] = [];
    const open = async (args: unknown) => {
      opened.push(args);
    };
    await showDeploymentDrift('dep1', fakeServer(routes()).serverSettings, open);
    await showDeploymentDrift('dep1', fakeServer(routes([])).serverSettings, open);
    expect(opened).toEqual([{ tab: 'drift', id: 'mon1' }, { tab: 'drift' }]);
  });
});
