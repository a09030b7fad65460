import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { IDriftColumn, IDriftResult } from '../api';
import { layoutSeries, linearScale } from '../panel/chart';
import { DriftChart } from '../panel/DriftChart';
import { sortFeatures } from '../panel/DriftDetail';
import { DriftTab } from '../panel/DriftTab';
import {
  alert,
  driftColumn,
  driftResult,
  errorBody,
  monitor,
  page
} from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const BOX = { width: 100, height: 50, margin: { top: 0, right: 0, bottom: 0, left: 0 } };

describe('chart scaling', () => {
  it('maps a domain linearly and a flat domain to the middle', () => {
    const s = linearScale(0, 10, 100, 200);
    expect(s(0)).toBe(100);
    expect(s(5)).toBe(150);
    expect(s(10)).toBe(200);
    expect(linearScale(3, 3, 0, 10)(42)).toBe(5);
  });

  it('puts points by time, y inverted and clamped to 0..1', () => {
    const data = [
      { t: 1000, v: 0 },
      { t: 2000, v: 0.5 },
      { t: 5000, v: 1.7 }
    ];
    const layout = layoutSeries(data, { time: d => d.t, value: d => d.v }, BOX);
    expect(layout.points.map(p => [p.x, p.y])).toEqual([
      [0, 50],
      [25, 25],
      [100, 0]
    ]);
    expect(layout.path).toBe('M0,50 L25,25 L100,0');
    expect(layout.yTicks).toEqual([
      { value: 0, y: 50 },
      { value: 0.5, y: 25 },
      { value: 1, y: 0 }
    ]);
    expect(layout.timeRange).toEqual([1000, 5000]);
  });

  it('spaces points evenly when times are missing or equal, centres a single one', () => {
    const equal = layoutSeries(
      [{ v: 0.2 }, { v: 0.4 }, { v: 0.6 }],
      { time: () => 7, value: d => d.v },
      BOX
    );
    expect(equal.points.map(p => p.x)).toEqual([0, 50, 100]);
    const invalid = layoutSeries(
      [{ v: 0.1 }, { v: NaN }],
      { time: () => NaN, value: d => d.v },
      BOX
    );
    expect(invalid.points.map(p => [p.x, p.y])).toEqual([
      [0, 45],
      [100, 50]
    ]);
    expect(invalid.timeRange).toBeNull();
    const single = layoutSeries([{ v: 1 }], { time: () => 1, value: d => d.v }, BOX);
    expect(single.points[0].x).toBe(50);
    expect(layoutSeries([], { time: () => 1, value: () => 1 }, BOX).path).toBe('');
  });
});

describe('sortFeatures', () => {
  it('lists drifted features first, then by decreasing statistic', () => {
    const col = (column: string, drifted: boolean, statistic: number | null): IDriftColumn =>
      driftColumn({ column, method: 'ks', statistic, drifted });
    const sorted = sortFeatures([
      col('a', false, 0.3),
      col('b', true, 0.2),
      col('c', false, null),
      col('d', true, 0.9),
      col('e', false, 0.5)
    ]);
    expect(sorted.map(c => c.column)).toEqual(['d', 'b', 'e', 'a', 'c']);
  });
});

describe('DriftChart', () => {
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

  it('draws one point per check, drifted ones marked, with an accessible label', () => {
    const result = (id: number, share: number, minute: number): IDriftResult =>
      driftResult({
        id,
        monitor_id: 'm',
        window_end: `2026-01-01T00:0${minute}:00Z`,
        n_rows: 100,
        drift_share: share,
        drifted: share > 0.5,
        n_drifted: Math.round(share * 10),
        created_at: `2026-01-01T00:0${minute}:00Z`
      });
    act(() =>
      root.render(
        <DriftChart results={[result(1, 0.1, 1), result(2, 0.2, 2), result(3, 0.8, 3)]} />
      )
    );
    const svg = container.querySelector('svg')!;
    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('Drift share over 3 checks; latest 80 %');
    expect(container.querySelectorAll('circle')).toHaveLength(3);
    expect(container.querySelectorAll('circle.jp-mod-drifted')).toHaveLength(1);
    expect(container.querySelector('path.jp-mlops-chart-line')!.getAttribute('d')).toMatch(
      /^M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L[\d.]+,[\d.]+$/
    );
    // Colours come from the theme (CSS classes), never hard-coded.
    expect(container.innerHTML).not.toMatch(/#[0-9a-f]{3,6}\b|rgb\(/i);
  });
});

describe('DriftTab', () => {
  it('lists monitors with their status and shows open alerts with an Acknowledge button', async () => {
    const acked: string[] = [];
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = input as Request;
        const url = new URL(request.url);
        const endpoint = url.pathname.replace(/^\/mlops\/api\//, '');
        const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
        if (endpoint === 'drift/monitors') {
          return json(
            page([
              monitor({
                id: 'mon1',
                deployment_id: 'dep1',
                deployment_name: 'churn-local',
                model_ref: 'churn@production',
                model_name: 'churn',
                model_version: 2,
                deployment_status: 'running',
                status: 'alert',
                enabled: true,
                interval_seconds: 3600,
                last_checked_at: new Date().toISOString(),
                drift_share: 0.4,
                drifted: false,
                latest_result_id: 7,
                open_alerts: 1,
                created_at: new Date().toISOString()
              })
            ])
          );
        }
        if (endpoint === 'drift/alerts') {
          return json(
            page(
              acked.length
                ? []
                : [
                    alert({
                      id: 3,
                      monitor_id: 'mon1',
                      deployment_id: 'dep1',
                      deployment_name: 'churn-local',
                      drift_result_id: 7,
                      rule: 'mean_shift',
                      severity: 'warning',
                      message: "mean of 'age' shifted by 35 %",
                      acknowledged: false,
                      retrain_run_id: null,
                      created_at: new Date().toISOString()
                    })
                  ],
              { limit: 20 }
            )
          );
        }
        if (endpoint === 'drift/alerts/3/ack' && request.method === 'POST') {
          acked.push(endpoint);
          return json(alert({ id: 3, acknowledged: true }));
        }
        return new Response(JSON.stringify(errorBody('not_found', 'no')), {
          status: 404
        });
      }
    });
    const container = document.createElement('div');
    document.body.appendChild(container);
    const root = createRoot(container);
    await act(async () => {
      root.render(
        <DriftTab serverSettings={serverSettings} active={true} refreshInterval={0} refreshToken={0} />
      );
    });
    const waitFor = async (check: () => boolean): Promise<void> => {
      for (let i = 0; i < 50 && !check(); i++) {
        await act(async () => {
          await new Promise(resolve => setTimeout(resolve, 10));
        });
      }
      expect(check()).toBe(true);
    };
    await waitFor(() => container.querySelector('[data-monitor-id="mon1"]') !== null);
    const row = container.querySelector('[data-monitor-id="mon1"]')!;
    expect(row.textContent).toContain('churn-local');
    expect(row.textContent).toContain('40 % of features drifted');
    expect(row.textContent).toContain('1 open alert');
    await waitFor(() => container.querySelector('.jp-mlops-alert-ack') !== null);
    expect(container.querySelector('.jp-mlops-alert-message')!.textContent).toBe(
      "mean of 'age' shifted by 35 %"
    );
    await act(async () => {
      (container.querySelector('.jp-mlops-alert-ack') as HTMLButtonElement).click();
    });
    await waitFor(() => container.querySelector('.jp-mlops-alert-ack') === null);
    expect(acked).toEqual(['drift/alerts/3/ack']);
    act(() => root.unmount());
    container.remove();
  });
});
