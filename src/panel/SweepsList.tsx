import * as React from 'react';

import { IPage, isNotFound, ISweep, listSweeps } from '../api';
import { formatMetric, formatRelativeTime } from './format';
import { StatusBadge } from './PagedList';
import { summarizeParameters } from './runFormat';
import { ITabProps } from './types';
import { useResource } from './useResource';

/** How many recent sweeps the Runs tab lists. */
const SWEEPS_SHOWN = 10;

export interface ISweepsListProps extends ITabProps {
  /** Show the runs of one sweep. */
  onFilter: (groupId: string) => void;
  /** Open a run's detail view. */
  onOpenRun: (id: string) => void;
}

/**
 * Recent sweeps (parameter grids run as one group) with their best run; shown only
 * when there are any. Polled quickly while a sweep still runs.
 */
export function SweepsList(props: ISweepsListProps): JSX.Element | null {
  const { serverSettings, onFilter, onOpenRun } = props;
  const sweeps = useResource<IPage<ISweep>>(
    () => listSweeps({ offset: 0, limit: SWEEPS_SHOWN }, serverSettings),
    [serverSettings],
    {
      active: props.active,
      refreshToken: props.refreshToken,
      interval: page =>
        page?.items.some(s => s.status === 'running') ? 2 : props.refreshInterval
    }
  );
  const page = sweeps.value;
  if (!page || page.total === 0 || isNotFound(sweeps.error)) {
    return null;
  }
  return (
    <details className="jp-mlops-sweeps">
      <summary>
        Sweeps ({page.total})
      </summary>
      <ul className="jp-mlops-list" aria-label="Sweeps">
        {page.items.map(sweep => (
          <li key={sweep.id} className="jp-mlops-item" data-sweep-id={sweep.id}>
            <div className="jp-mlops-row-main">
              <button
                type="button"
                className="jp-mlops-linkbutton jp-mlops-row-title"
                title="Show this sweep's runs"
                onClick={() => onFilter(sweep.id)}
              >
                {sweep.name}
              </button>
              <StatusBadge status={sweep.status} />
            </div>
            <div className="jp-mlops-row-meta">
              <span>{formatRelativeTime(sweep.created_at)}</span>
              <span>
                {Object.entries(sweep.counts)
                  .map(([status, n]) => `${n} ${status.replace('_', ' ')}`)
                  .join(', ')}{' '}
                of {sweep.total}
              </span>
            </div>
            {sweep.best ? (
              <div className="jp-mlops-row-params">
                best {sweep.metric} ({sweep.mode}) ={' '}
                <span className="jp-mlops-metric">{formatMetric(sweep.best.value)}</span>{' '}
                with {summarizeParameters(sweep.best.parameters, 4)}{' '}
                <button
                  type="button"
                  className="jp-mlops-linkbutton"
                  onClick={() => onOpenRun(sweep.best!.run_id)}
                >
                  open run
                </button>
              </div>
            ) : sweep.metric ? (
              <div className="jp-mlops-row-params">
                best by {sweep.metric} ({sweep.mode}): no succeeded run yet
              </div>
            ) : null}
          </li>
        ))}
      </ul>
    </details>
  );
}
