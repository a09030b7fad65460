import { ServerConnection } from '@jupyterlab/services';
import { act } from 'react';

import type { IAuditEntry, IModelVersion } from '../api';
import { aliasProblem, PromoteBody } from '../dialogs/PromoteDialog';
import { describeAudit } from '../panel/AuditLog';
import { buildMetricsTable, lowerIsBetter } from '../panel/metricsTable';
import { auditEntry, errorBody, modelVersion, promotion } from './fixtures';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** Metrics as the server could send them; non-numbers test the table's tolerance. */
function version(v: number, metrics: Record<string, unknown>): IModelVersion {
  return modelVersion({
    version: v,
    metrics: metrics as Record<string, number>,
    created_at: '2026-01-01T00:00:00+00:00'
  });
}

describe('buildMetricsTable', () => {
  it('puts versions as rows and every metric as a column', () => {
    const table = buildMetricsTable([
      version(3, { auc: 0.9, log_loss: 0.3 }),
      version(2, { auc: 0.92, f1: 0.8 }),
      version(1, {})
    ]);
    expect(table.columns).toEqual(['auc', 'log_loss', 'f1']);
    expect(table.rows.map(r => [r.version.version, r.values])).toEqual([
      [3, [0.9, 0.3, null]],
      [2, [0.92, null, 0.8]],
      [1, [null, null, null]]
    ]);
    // Best per metric needs two values to compare.
    expect(table.best).toEqual({ auc: [2] });
  });

  it('marks the smallest value best for losses and errors, ties included', () => {
    const table = buildMetricsTable([
      version(2, { rmse: 1.5, log_loss: 0.2, accuracy: 0.9 }),
      version(1, { rmse: 1.2, log_loss: 0.2, accuracy: 0.8 })
    ]);
    expect(table.best).toEqual({ rmse: [1], log_loss: [2, 1], accuracy: [2] });
  });

  it('treats non-numeric values as missing', () => {
    const table = buildMetricsTable([
      version(2, { auc: 'n/a', acc: NaN }),
      version(1, { auc: 0.7 })
    ]);
    expect(table.rows[0].values).toEqual([null, null]);
    expect(table.best).toEqual({});
  });

  it('knows which metrics are better low', () => {
    expect(['loss', 'val_loss', 'mse', 'MAE', 'error_rate', 'p95_latency'].map(lowerIsBetter))
      .toEqual([true, true, true, true, true, true]);
    expect(['auc', 'accuracy', 'f1', 'r2'].map(lowerIsBetter)).toEqual([
      false,
      false,
      false,
      false
    ]);
  });
});

describe('describeAudit', () => {
  const entry = (extra: Partial<IAuditEntry>): IAuditEntry =>
    auditEntry({
      id: 1,
      model_name: 'churn',
      action: 'set_alias',
      alias: 'production',
      from_version: 1,
      to_version: 2,
      reason: '',
      forced: false,
      ...extra
    });

  it('says what moved', () => {
    expect(describeAudit(entry({}))).toBe('production: v1 → v2');
    expect(describeAudit(entry({ from_version: null, forced: true }))).toBe(
      'production: — → v2 (forced)'
    );
    expect(describeAudit(entry({ action: 'rollback', from_version: 2, to_version: 1 }))).toBe(
      'production rolled back: v2 → v1'
    );
    expect(describeAudit(entry({ action: 'delete_alias', to_version: null }))).toBe(
      'production removed (was v1)'
    );
    expect(describeAudit(entry({ action: 'promotion_refused' }))).toBe(
      'production: v2 refused by the quality gate'
    );
    expect(
      describeAudit(entry({ action: 'set_gate', alias: null, from_version: null, to_version: null }))
    ).toBe('set gate');
  });
});

describe('aliasProblem', () => {
  it('follows the server’s alias rule', () => {
    expect(aliasProblem('production')).toBeNull();
    expect(aliasProblem('canary-2')).toBeNull();
    expect(aliasProblem('')).toMatch(/Enter an alias/);
    expect(aliasProblem('2prod')).toMatch(/starts with a letter/);
    expect(aliasProblem('a.b')).toMatch(/starts with a letter/);
    expect(aliasProblem('latest')).toMatch(/reserved/);
  });
});

describe('PromoteBody', () => {
  it('shows the gate refusal, then forces with a reason', async () => {
    const bodies: unknown[] = [];
    const gateMessage =
      'quality gate refused churn v1 → production: auc 0.81 < 0.87 (v2, production). ' +
      'Fix the model, or force the promotion with a reason.';
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async (input: RequestInfo | URL) => {
        const request = input as Request;
        expect(request.method).toBe('PUT');
        expect(new URL(request.url).pathname).toBe('/mlops/api/models/churn/aliases/production');
        const body = JSON.parse(await request.text());
        bodies.push(body);
        if (!body.force) {
          return new Response(
            JSON.stringify(errorBody('gate_failed', gateMessage)),
            { status: 409 }
          );
        }
        return new Response(
          JSON.stringify(
            promotion({
              name: 'churn',
              alias: 'production',
              version: 1,
              previous_version: 2,
              forced: true
            })
          ),
          { status: 200 }
        );
      }
    });
    const body = new PromoteBody({
      mode: 'promote',
      name: 'churn',
      version: 1,
      aliases: { production: 2 },
      serverSettings
    });
    const submit = async (): Promise<boolean> => {
      let ok = false;
      await act(async () => {
        ok = await body.submit();
        await new Promise(resolve => setTimeout(resolve, 0));
      });
      return ok;
    };
    const set = (selector: string, apply: (el: HTMLInputElement) => void): void => {
      const el = body.node.querySelector(selector) as HTMLInputElement;
      act(() => {
        apply(el);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
    };
    act(() => body.update());
    await act(() => new Promise(resolve => setTimeout(resolve, 0)));
    expect(body.node.textContent).toContain('production moves from v2 to v1.');

    // No reason: refused locally, nothing sent.
    expect(await submit()).toBe(false);
    expect(bodies).toHaveLength(0);
    expect(body.node.querySelector('.jp-mlops-promote-error')!.textContent).toMatch(
      /Give a reason/
    );

    set('#jp-mlops-promote-reason', el => {
      Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value')!.set!.call(
        el,
        'hotfix'
      );
    });
    expect(await submit()).toBe(false);
    expect(bodies).toEqual([{ version: 1, reason: 'hotfix' }]);
    expect(body.node.querySelector('.jp-mlops-gate-message')!.textContent).toBe(gateMessage);

    const force = body.node.querySelector(
      '.jp-mlops-gate input[type="checkbox"]'
    ) as HTMLInputElement;
    act(() => force.click());
    expect(force.checked).toBe(true);
    expect(await submit()).toBe(true);
    expect(bodies[1]).toEqual({ version: 1, reason: 'hotfix', force: true });
    expect(body.getValue()).toMatchObject({ version: 1, forced: true });
    act(() => body.dispose());
  });
});
