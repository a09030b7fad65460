import * as React from 'react';

import { IMonitor, isNotFound, listAlerts, listMonitors } from '../api';
import { AlertsList } from './AlertsList';
import { DriftDetail } from './DriftDetail';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList, StatusBadge } from './PagedList';
import { formatPercent } from './statsFormat';
import { ITabProps } from './types';
import { usePaged } from './usePaged';
import { usePolled } from './usePolled';

/** Open alerts shown above the monitors. */
const OPEN_ALERTS_LIMIT = 5;

export function DriftEmptyState(): JSX.Element {
  return (
    <p>
      No drift monitors yet. Every deployment gets one when it is created
      (unless its config says <code>"monitor": false</code>); check a deployed
      model by hand with <code>%mlops drift name@production</code>.
    </p>
  );
}

/**
 * Drift: open alerts, the monitored deployments with their latest status,
 * and one monitor in detail (time series, per-feature table) when selected.
 */
export function DriftTab(props: ITabProps): JSX.Element {
  const [localSelection, setLocalSelection] = React.useState<string | null>(
    null
  );
  const selected = props.model
    ? (props.model.selection.drift ?? null)
    : localSelection;
  const select = (id: string | null): void => {
    if (props.model) {
      props.model.select('drift', id);
    } else {
      setLocalSelection(id);
    }
  };
  if (selected) {
    return (
      <DriftDetail {...props} monitorId={selected} onBack={() => select(null)} />
    );
  }
  return (
    <>
      <OpenAlerts {...props} />
      <MonitorsList {...props} onSelect={select} />
    </>
  );
}

function OpenAlerts(props: ITabProps): JSX.Element | null {
  const { serverSettings } = props;
  const alerts = usePolled(
    () =>
      listAlerts(
        { acknowledged: false, offset: 0, limit: OPEN_ALERTS_LIMIT },
        serverSettings
      ),
    {
      key: 'open-alerts',
      active: props.active,
      refreshInterval: props.refreshInterval,
      refreshToken: props.refreshToken
    }
  );
  const page = alerts.data;
  if (!page || page.items.length === 0 || isNotFound(alerts.error)) {
    return null;
  }
  return (
    <section className="jp-mlops-section jp-mlops-open-alerts">
      <h4 className="jp-mlops-section-title">
        Open alerts ({page.total})
      </h4>
      <AlertsList
        alerts={page.items}
        serverSettings={serverSettings}
        label="Open alerts"
        onAcknowledged={() => void alerts.reload()}
      />
    </section>
  );
}

function MonitorsList(
  props: ITabProps & { onSelect: (id: string) => void }
): JSX.Element {
  const { serverSettings } = props;
  const paged = usePaged<IMonitor>(
    query => listMonitors(query, serverSettings),
    props
  );
  return (
    <PagedList
      paged={paged}
      label="Drift monitors"
      emptyState={<DriftEmptyState />}
      itemKey={monitor => monitor.id}
      renderItem={monitor => (
        <MonitorRow
          monitor={monitor}
          onSelect={() => props.onSelect(monitor.id)}
        />
      )}
    />
  );
}

function MonitorRow(props: {
  monitor: IMonitor;
  onSelect: () => void;
}): JSX.Element {
  const { monitor } = props;
  return (
    <div className="jp-mlops-row" data-monitor-id={monitor.id}>
      <div className="jp-mlops-row-main">
        <button
          type="button"
          className="jp-mlops-row-title jp-mlops-row-open"
          onClick={props.onSelect}
          title={`Show the drift of ${monitor.deployment_name ?? monitor.deployment_id}`}
        >
          {monitor.deployment_name ?? monitor.deployment_id}
        </button>
        <StatusBadge status={monitor.status} />
      </div>
      <div className="jp-mlops-row-meta">
        {monitor.model_ref ? <span>{monitor.model_ref}</span> : null}
        {monitor.model_version !== null && monitor.model_version !== undefined ? (
          <span className="jp-mlops-version">v{monitor.model_version}</span>
        ) : null}
        {monitor.drift_share !== null && monitor.drift_share !== undefined ? (
          <span className="jp-mlops-drift-share">
            {formatPercent(monitor.drift_share, 0)} of features drifted
          </span>
        ) : null}
        {monitor.status === 'paused' ? (
          <span>deployment {monitor.deployment_status ?? 'stopped'}</span>
        ) : null}
        {monitor.open_alerts > 0 ? (
          <span className="jp-mlops-alerts">
            {monitor.open_alerts} open{' '}
            {monitor.open_alerts === 1 ? 'alert' : 'alerts'}
          </span>
        ) : null}
        <span title={formatAbsoluteTime(monitor.last_checked_at)}>
          checked {formatRelativeTime(monitor.last_checked_at)}
        </span>
      </div>
    </div>
  );
}
