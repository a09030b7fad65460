import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  checkMonitor,
  errorMessage,
  getDriftChart,
  getDriftResult,
  IDriftColumn,
  getMonitor,
  listAlerts
} from '../api';
import { AlertsList } from './AlertsList';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { StatusBadge } from './PagedList';
import { formatPercent, formatStat } from './statsFormat';
import { ITabProps } from './types';
import { usePolled } from './usePolled';
import { VegaChart } from './VegaChart';

/** Stored checks drawn in the drift share over time. */
const SERIES_LIMIT = 100;

export interface IDriftDetailProps extends ITabProps {
  monitorId: string;
  onBack: () => void;
}

/**
 * One drift monitor: its latest status, the drift share over time, the
 * per-feature table of the latest check, and its alerts.
 */
export function DriftDetail(props: IDriftDetailProps): JSX.Element {
  const { monitorId, serverSettings } = props;
  const polling = {
    active: props.active,
    refreshInterval: props.refreshInterval,
    refreshToken: props.refreshToken
  };
  const monitor = usePolled(
    () => getMonitor(monitorId, serverSettings),
    { key: monitorId, ...polling }
  );
  const chart = usePolled(
    () => getDriftChart(monitorId, SERIES_LIMIT, serverSettings),
    { key: monitorId, ...polling }
  );
  const alerts = usePolled(
    () => listAlerts({ monitor_id: monitorId, offset: 0, limit: 20 }, serverSettings),
    { key: monitorId, ...polling }
  );
  const latestId = monitor.data?.latest_result_id ?? null;
  const latest = usePolled(
    () =>
      latestId === null
        ? Promise.resolve(null)
        : getDriftResult(latestId, serverSettings),
    { key: `${monitorId}:${latestId}`, ...polling, refreshInterval: 0 }
  );
  const [checking, setChecking] = React.useState(false);
  const [checkMessage, setCheckMessage] = React.useState<string | null>(null);

  const checkNow = async (): Promise<void> => {
    setChecking(true);
    setCheckMessage(null);
    try {
      const answer = await checkMonitor(monitorId, serverSettings);
      if (answer.message) {
        setCheckMessage(answer.message);
      }
    } catch (err) {
      setCheckMessage(errorMessage(err));
    } finally {
      setChecking(false);
      void monitor.reload();
      void chart.reload();
      void alerts.reload();
    }
  };

  const m = monitor.data;
  const error = monitor.error ?? chart.error;
  return (
    <div className="jp-mlops-detail" data-monitor-id={monitorId}>
      <div className="jp-mlops-detail-header">
        <Button
          className="jp-mlops-back"
          small
          minimal
          onClick={props.onBack}
          aria-label="Back to the drift monitors"
        >
          ← Drift
        </Button>
      </div>
      {error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(error)}
        </div>
      ) : null}
      {m === null ? (
        error ? null : (
          <div className="jp-mlops-loading" aria-busy="true">
            Loading monitor…
          </div>
        )
      ) : (
        <>
          <h3 className="jp-mlops-detail-title">
            {m.deployment_name ?? m.deployment_id}{' '}
            <StatusBadge status={m.status} />
          </h3>
          <div className="jp-mlops-row-meta">
            {m.model_ref ? <span>{m.model_ref}</span> : null}
            {m.model_version !== null ? <span>v{m.model_version}</span> : null}
            <span title={formatAbsoluteTime(m.last_checked_at)}>
              checked {formatRelativeTime(m.last_checked_at)}
            </span>
            {m.interval_seconds !== null ? (
              <span>every {Math.round(m.interval_seconds)} s</span>
            ) : null}
          </div>
          <div className="jp-mlops-actions">
            <Button
              small
              className="jp-mlops-check-now"
              disabled={checking}
              onClick={() => void checkNow()}
            >
              {checking ? 'Checking…' : 'Check now'}
            </Button>
          </div>
          {checkMessage ? (
            <div className="jp-mlops-row-description" role="status">
              {checkMessage}
            </div>
          ) : null}
          <section className="jp-mlops-section" aria-label="Drift over time">
            {chart.data && chart.data.points > 0 ? (
              <VegaChart
                chart={chart.data}
                rendermime={props.model?.rendermime ?? null}
              />
            ) : (
              <p className="jp-mlops-hint">No drift checks stored yet.</p>
            )}
          </section>
          {latest.data && latest.data.columns ? (
            <section className="jp-mlops-section" aria-label="Latest check">
              <h4 className="jp-mlops-section-title">
                Latest check: {latest.data.n_drifted} of{' '}
                {latest.data.columns.length} features drifted (
                {formatPercent(latest.data.drift_share, 0)}),{' '}
                {latest.data.n_rows} rows
              </h4>
              <FeatureTable columns={latest.data.columns} />
            </section>
          ) : null}
          {alerts.data && alerts.data.items.length > 0 ? (
            <section className="jp-mlops-section" aria-label="Monitor alerts">
              <h4 className="jp-mlops-section-title">Alerts</h4>
              <AlertsList
                alerts={alerts.data.items}
                serverSettings={serverSettings}
                label="Monitor alerts"
                onAcknowledged={() => {
                  void alerts.reload();
                  void monitor.reload();
                }}
              />
            </section>
          ) : null}
        </>
      )}
    </div>
  );
}

/** Drifted features first, then by decreasing statistic. */
export function sortFeatures(columns: IDriftColumn[]): IDriftColumn[] {
  return [...columns].sort((a, b) => {
    if (a.drifted !== b.drifted) {
      return a.drifted ? -1 : 1;
    }
    return (b.statistic ?? -Infinity) - (a.statistic ?? -Infinity);
  });
}

/** One row per feature of a check: method, statistic, p-value, drifted. */
export function FeatureTable({ columns }: { columns: IDriftColumn[] }): JSX.Element {
  return (
    <div className="jp-mlops-table-wrap">
      <table className="jp-mlops-table jp-mlops-feature-table">
        <thead>
          <tr>
            <th scope="col">Feature</th>
            <th scope="col">Method</th>
            <th scope="col">Statistic</th>
            <th scope="col">p-value</th>
            <th scope="col">Drifted</th>
          </tr>
        </thead>
        <tbody>
          {sortFeatures(columns).map(column => (
            <tr
              key={column.column}
              className={column.drifted ? 'jp-mod-drifted' : undefined}
              data-column={column.column}
            >
              <th scope="row" title={column.column}>
                {column.column}
              </th>
              <td>{column.method}</td>
              <td>{formatStat(column.statistic)}</td>
              <td>{formatStat(column.p_value)}</td>
              <td>{column.drifted ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
