import * as React from 'react';

import { IMonitor, listMonitors } from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList, StatusBadge } from './PagedList';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

export function DriftEmptyState(): JSX.Element {
  return (
    <p>
      No drift monitors yet. Check a deployed model with{' '}
      <code>%mlops drift name@production</code>, or add a monitor to a
      deployment.
    </p>
  );
}

export function DriftTab(props: ITabProps): JSX.Element {
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
      renderItem={monitor => <MonitorRow monitor={monitor} />}
    />
  );
}

function MonitorRow({ monitor }: { monitor: IMonitor }): JSX.Element {
  return (
    <div className="jp-mlops-row" data-monitor-id={monitor.id}>
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title">{monitor.deployment_name}</span>
        <StatusBadge status={monitor.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span>{monitor.model_ref}</span>
        {monitor.drift_share !== null && monitor.drift_share !== undefined ? (
          <span>
            {Math.round(monitor.drift_share * 100)}% of features drifted
          </span>
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
