import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';

import { IDriftColumn } from '../api';
import { sortFeatures } from '../panel/DriftDetail';
import { DriftTab } from '../panel/DriftTab';
import {
  alert,
  driftColumn,
  errorBody,
  monitor,
  page
} from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

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
