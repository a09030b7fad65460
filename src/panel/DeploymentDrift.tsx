import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  checkMonitor,
  createMonitor,
  errorMessage,
  getDriftChart,
  getDriftResult,
  IMonitor,
  IMonitorRules,
  listAlerts,
  listMonitors,
  updateMonitor
} from '../api';
import { AlertsList } from './AlertsList';
import { FeatureTable } from './DriftDetail';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { StatusBadge } from './PagedList';
import { formatPercent } from './statsFormat';
import { ITabProps } from './types';
import { usePolled } from './usePolled';
import { VegaChart } from './VegaChart';

/** Stored checks drawn in the drift share over time. */
const SERIES_LIMIT = 100;

export interface IDeploymentDriftProps extends ITabProps {
  deploymentId: string;
}

/**
 * The Drift section of a deployment: the monitor every deployment gets,
 * with its status, drift share over time, the latest per-feature table,
 * open alerts, its rules (editable) and an on/off switch.
 */
export function DeploymentDrift(props: IDeploymentDriftProps): JSX.Element {
  const { deploymentId, serverSettings } = props;
  const polling = {
    active: props.active,
    refreshInterval: props.refreshInterval,
    refreshToken: props.refreshToken
  };
  const monitors = usePolled(
    () =>
      listMonitors({ deployment_id: deploymentId, limit: 1 }, serverSettings),
    { key: deploymentId, ...polling }
  );
  const monitor = monitors.data?.items[0] ?? null;
  const [busy, setBusy] = React.useState<string | null>(null);
  const [message, setMessage] = React.useState<string | null>(null);

  const run = async (
    what: string,
    action: () => Promise<string | null | void>
  ): Promise<void> => {
    setBusy(what);
    setMessage(null);
    try {
      setMessage((await action()) || null);
    } catch (err) {
      setMessage(errorMessage(err));
    } finally {
      setBusy(null);
      void monitors.reload();
    }
  };

  return (
    <section
      className="jp-mlops-section jp-mlops-deployment-drift"
      aria-label="Drift"
      data-section="drift"
    >
      <h4 className="jp-mlops-section-title">
        Drift{' '}
        {monitor ? (
          <StatusBadge status={monitor.status} />
        ) : monitors.data ? (
          <StatusBadge status="not_monitored" />
        ) : null}
      </h4>
      {monitors.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(monitors.error)}
        </div>
      ) : null}
      {monitors.data && !monitor ? (
        <>
          <p className="jp-mlops-hint">
            This deployment has no drift monitor (its config said{' '}
            <code>"monitor": false</code>, or the monitor was deleted).
          </p>
          <Button
            small
            className="jp-mlops-drift-enable"
            disabled={busy !== null}
            onClick={() =>
              void run('create', async () => {
                await createMonitor(deploymentId, serverSettings);
              })
            }
          >
            Monitor with the default rules
          </Button>
        </>
      ) : null}
      {monitor ? (
        <MonitorView
          {...props}
          monitor={monitor}
          busy={busy}
          onCheck={() =>
            void run('check', async () => {
              const answer = await checkMonitor(monitor.id, serverSettings);
              return answer.message ?? null;
            })
          }
          onToggle={() =>
            void run('toggle', async () => {
              await updateMonitor(
                monitor.id,
                { enabled: !monitor.enabled },
                serverSettings
              );
            })
          }
          onRules={rules =>
            run('rules', async () => {
              await updateMonitor(
                monitor.id,
                { config: { ...configOf(monitor), rules } },
                serverSettings
              );
              return 'Rules saved.';
            })
          }
        />
      ) : null}
      {message ? (
        <div className="jp-mlops-row-description" role="status">
          {message}
        </div>
      ) : null}
    </section>
  );
}

/** A stored config as an update's body: what the server added (`last_error`) left out. */
function configOf(monitor: IMonitor): Record<string, unknown> {
  const { last_error: _ignored, ...config } = monitor.config as Record<
    string,
    unknown
  >;
  return config;
}

function statusText(monitor: IMonitor): string {
  if (monitor.status === 'paused') {
    return 'Paused while the deployment is stopped; checks resume when it is restarted.';
  }
  if (!monitor.enabled) {
    return 'Disabled: no scheduled checks.';
  }
  if (monitor.status === 'unknown') {
    return 'Monitored: waiting for the first check.';
  }
  if (monitor.status === 'insufficient_data') {
    return 'Monitored: too few predictions in the window yet.';
  }
  return 'Monitored.';
}

function MonitorView(
  props: IDeploymentDriftProps & {
    monitor: IMonitor;
    busy: string | null;
    onCheck: () => void;
    onToggle: () => void;
    onRules: (rules: IMonitorRules) => Promise<void>;
  }
): JSX.Element {
  const { monitor, serverSettings, busy } = props;
  const polling = {
    active: props.active,
    refreshInterval: props.refreshInterval,
    refreshToken: props.refreshToken
  };
  const chart = usePolled(
    () => getDriftChart(monitor.id, SERIES_LIMIT, serverSettings),
    { key: `${monitor.id}:${monitor.latest_result_id}`, ...polling }
  );
  const alerts = usePolled(
    () =>
      listAlerts(
        { monitor_id: monitor.id, acknowledged: false, offset: 0, limit: 20 },
        serverSettings
      ),
    { key: `${monitor.id}:${monitor.open_alerts}`, ...polling }
  );
  const latestId = monitor.latest_result_id;
  const latest = usePolled(
    () =>
      latestId === null
        ? Promise.resolve(null)
        : getDriftResult(latestId, serverSettings),
    { key: `${monitor.id}:${latestId}`, ...polling, refreshInterval: 0 }
  );
  const [editing, setEditing] = React.useState(false);
  const rules = (monitor.config.rules ?? {}) as IMonitorRules;
  return (
    <div className="jp-mlops-monitor" data-monitor-id={monitor.id}>
      <div className="jp-mlops-row-description jp-mlops-drift-state">
        {statusText(monitor)}
      </div>
      <div className="jp-mlops-row-meta">
        {monitor.model_version !== null ? (
          <span>reference v{monitor.model_version}</span>
        ) : null}
        {monitor.interval_seconds !== null ? (
          <span>every {Math.round(monitor.interval_seconds)} s</span>
        ) : null}
        <span title={formatAbsoluteTime(monitor.last_checked_at)}>
          checked {formatRelativeTime(monitor.last_checked_at)}
        </span>
        {monitor.drift_share !== null ? (
          <span className="jp-mlops-drift-share">
            {formatPercent(monitor.drift_share, 0)} of features drifted
          </span>
        ) : null}
      </div>
      {monitor.config.last_error ? (
        <div className="jp-mlops-error" role="alert">
          {monitor.config.last_error}
        </div>
      ) : null}
      <div className="jp-mlops-actions">
        <Button
          small
          className="jp-mlops-check-now"
          disabled={busy !== null}
          onClick={props.onCheck}
        >
          {busy === 'check' ? 'Checking…' : 'Check now'}
        </Button>
        <Button
          small
          className="jp-mlops-drift-toggle"
          disabled={busy !== null}
          onClick={props.onToggle}
        >
          {monitor.enabled || monitor.status === 'paused' ? 'Disable' : 'Enable'}
        </Button>
        <Button
          small
          className="jp-mlops-drift-edit-rules"
          disabled={busy !== null}
          aria-expanded={editing}
          onClick={() => setEditing(!editing)}
        >
          Edit rules
        </Button>
      </div>
      {editing ? (
        <RulesForm
          rules={rules}
          busy={busy === 'rules'}
          onSave={async next => {
            await props.onRules(next);
            setEditing(false);
          }}
        />
      ) : (
        <RulesSummary rules={rules} />
      )}
      {alerts.data && alerts.data.items.length > 0 ? (
        <div className="jp-mlops-drift-alerts" aria-label="Open drift alerts">
          <h5 className="jp-mlops-subtitle">
            Open alerts ({alerts.data.total})
          </h5>
          <AlertsList
            alerts={alerts.data.items}
            serverSettings={serverSettings}
            label="Open drift alerts"
            onAcknowledged={() => void alerts.reload()}
          />
        </div>
      ) : null}
      {chart.data && chart.data.points > 0 ? (
        <VegaChart
          chart={chart.data}
          rendermime={props.model?.rendermime ?? null}
        />
      ) : (
        <p className="jp-mlops-hint">No checks stored yet.</p>
      )}
      {latest.data && latest.data.columns ? (
        <>
          <h5 className="jp-mlops-subtitle">
            Latest check: {latest.data.n_drifted} of{' '}
            {latest.data.columns.length} features drifted, {latest.data.n_rows}{' '}
            rows
          </h5>
          <FeatureTable columns={latest.data.columns} />
        </>
      ) : null}
    </div>
  );
}

/** The editable rules, as the form shows them: shares as percentages. */
export interface IRuleField {
  key: 'drift_share' | 'mean_shift_pct' | 'missing_rate' | 'performance_drop';
  label: string;
  /** Form value (percent) = stored value × scale. */
  scale: number;
  /** How the rule compares. */
  op: string;
}

export const RULE_FIELDS: IRuleField[] = [
  { key: 'drift_share', label: 'Drifted features (%)', scale: 100, op: '>' },
  { key: 'mean_shift_pct', label: 'Mean shift (%)', scale: 1, op: '≥' },
  { key: 'missing_rate', label: 'Missing values (%)', scale: 100, op: '>' },
  { key: 'performance_drop', label: 'Performance drop (%)', scale: 100, op: '>' }
];

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The form's texts from stored rules (an empty text: the rule is off). */
export function rulesToForm(rules: IMonitorRules): Record<string, string> {
  const form: Record<string, string> = {};
  for (const field of RULE_FIELDS) {
    const value = rules[field.key];
    form[field.key] =
      value === null || value === undefined ? '' : String(round(value * field.scale));
  }
  return form;
}

/** Stored rules from the form's texts; a message naming the field when one is not a number ≥ 0. */
export function formToRules(
  form: Record<string, string>,
  base: IMonitorRules
): IMonitorRules | string {
  const rules: IMonitorRules = { ...base };
  for (const field of RULE_FIELDS) {
    const text = (form[field.key] ?? '').trim();
    if (text === '') {
      rules[field.key] = null;
      continue;
    }
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) {
      return `${field.label}: a number ≥ 0, or empty to switch the rule off`;
    }
    rules[field.key] = round(value / field.scale);
  }
  return rules;
}

function RulesSummary({ rules }: { rules: IMonitorRules }): JSX.Element {
  const form = rulesToForm(rules);
  return (
    <ul className="jp-mlops-drift-rules" aria-label="Alert rules">
      {RULE_FIELDS.map(field => (
        <li key={field.key} data-rule={field.key}>
          {field.label.replace(' (%)', '')}{' '}
          {form[field.key] === '' ? 'off' : `${field.op} ${form[field.key]} %`}
        </li>
      ))}
    </ul>
  );
}

function RulesForm(props: {
  rules: IMonitorRules;
  busy: boolean;
  onSave: (rules: IMonitorRules) => Promise<void>;
}): JSX.Element {
  const [form, setForm] = React.useState(() => rulesToForm(props.rules));
  const [error, setError] = React.useState<string | null>(null);
  const submit = (event: React.FormEvent): void => {
    event.preventDefault();
    const rules = formToRules(form, props.rules);
    if (typeof rules === 'string') {
      setError(rules);
      return;
    }
    setError(null);
    void props.onSave(rules);
  };
  return (
    <form className="jp-mlops-drift-rules-form" onSubmit={submit}>
      {RULE_FIELDS.map(field => (
        <label key={field.key} className="jp-mlops-field">
          <span>{field.label}</span>
          <input
            className="jp-mod-styled"
            type="text"
            inputMode="decimal"
            name={field.key}
            value={form[field.key]}
            placeholder="off"
            onChange={event =>
              setForm({ ...form, [field.key]: event.target.value })
            }
          />
        </label>
      ))}
      {error ? (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      ) : null}
      <Button
        small
        type="submit"
        className="jp-mlops-drift-save-rules"
        disabled={props.busy}
      >
        {props.busy ? 'Saving…' : 'Save rules'}
      </Button>
    </form>
  );
}
