import * as React from 'react';

import { IRun } from '../api';
import {
  basename,
  formatAbsoluteTime,
  formatBytes,
  formatDuration,
  formatMetric,
  formatRelativeTime
} from './format';
import { StatusBadge } from './PagedList';
import { errorLine, progressText, summarizeParameters } from './runFormat';

/** How many metrics a run row shows inline. */
const MAX_INLINE_METRICS = 3;

export interface IRunRowProps {
  run: IRun;
  /** Open the run's detail view. */
  onOpen: (id: string) => void;
}

/**
 * One run in the list: notebook, status, started, duration (or live progress),
 * parameters and metrics. Click or Enter opens the detail view.
 */
export function RunRow({ run, onOpen }: IRunRowProps): JSX.Element {
  const metrics = Object.entries(run.metrics ?? {}).slice(0, MAX_INLINE_METRICS);
  const progress = progressText(run);
  const params = summarizeParameters(run.parameters);
  return (
    <div
      className="jp-mlops-row jp-mlops-row-clickable"
      data-run-id={run.id}
      data-status={run.status}
      role="button"
      tabIndex={0}
      aria-label={`Run ${run.id} of ${run.notebook_path}: ${run.status}`}
      onClick={() => onOpen(run.id)}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onOpen(run.id);
        }
      }}
    >
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title" title={run.notebook_path}>
          {basename(run.notebook_path)}
        </span>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title={formatAbsoluteTime(run.created_at)}>
          {formatRelativeTime(run.started_at ?? run.created_at)}
        </span>
        {progress ? (
          <span className="jp-mlops-progress-text">{progress}</span>
        ) : (
          <span title="duration">{formatDuration(run.duration_seconds)}</span>
        )}
        {run.peak_memory_bytes ? (
          <span title="peak memory" className="jp-mlops-row-memory">
            {formatBytes(run.peak_memory_bytes)}
          </span>
        ) : null}
        {metrics.map(([name, value]) => (
          <span key={name} className="jp-mlops-metric">
            {name}={formatMetric(value)}
          </span>
        ))}
      </div>
      {params ? (
        <div className="jp-mlops-row-params" title={JSON.stringify(run.parameters)}>
          {params}
        </div>
      ) : null}
      {run.error ? (
        <div className="jp-mlops-row-error" title={run.error.evalue ?? undefined}>
          {errorLine(run.error)}
        </div>
      ) : null}
    </div>
  );
}
