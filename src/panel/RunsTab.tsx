import * as React from 'react';

import { IRun, listRuns } from '../api';
import {
  basename,
  formatAbsoluteTime,
  formatDuration,
  formatMetric,
  formatRelativeTime
} from './format';
import { PagedList, StatusBadge } from './PagedList';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

/** How many metrics a run row shows inline. */
const MAX_INLINE_METRICS = 3;

export function RunsEmptyState(): JSX.Element {
  return (
    <p>
      No runs yet. Open a notebook and click 'Run with parameters' in its
      toolbar, or run <code>%mlops run notebook.ipynb</code> /{' '}
      <code>jupyter mlops run notebook.ipynb</code>.
    </p>
  );
}

export function RunsTab(props: ITabProps): JSX.Element {
  const { serverSettings } = props;
  const paged = usePaged<IRun>(
    query => listRuns(query, serverSettings),
    props
  );
  return (
    <PagedList
      paged={paged}
      label="Runs"
      emptyState={<RunsEmptyState />}
      itemKey={run => run.id}
      renderItem={run => <RunRow run={run} />}
    />
  );
}

function RunRow({ run }: { run: IRun }): JSX.Element {
  const metrics = Object.entries(run.metrics ?? {}).slice(
    0,
    MAX_INLINE_METRICS
  );
  const progress = run.progress;
  return (
    <div className="jp-mlops-row" data-run-id={run.id}>
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title" title={run.notebook_path}>
          {basename(run.notebook_path)}
        </span>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title={formatAbsoluteTime(run.created_at)}>
          {formatRelativeTime(run.created_at)}
        </span>
        {run.status === 'running' && progress && progress.total > 0 ? (
          <span>
            cell {progress.done}/{progress.total}
          </span>
        ) : (
          <span>{formatDuration(run.duration_seconds)}</span>
        )}
        {metrics.map(([name, value]) => (
          <span key={name} className="jp-mlops-metric">
            {name}={formatMetric(value)}
          </span>
        ))}
      </div>
      {run.error ? (
        <div className="jp-mlops-row-error" title={run.error.evalue}>
          {run.error.cell_index !== null && run.error.cell_index !== undefined
            ? `Cell ${run.error.cell_index}: `
            : ''}
          {run.error.ename}: {run.error.evalue}
        </div>
      ) : null}
    </div>
  );
}
