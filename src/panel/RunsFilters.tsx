import * as React from 'react';

import { RUN_STATUSES, RunStatus } from '../api';

/** The Runs tab's server-side filters (query arguments of `GET runs`). */
export interface IRunFilters {
  notebook: string;
  status: RunStatus | '';
  /** Runs of one sweep. */
  group_id: string;
}

export const NO_FILTERS: IRunFilters = { notebook: '', status: '', group_id: '' };

export interface IRunsFiltersProps {
  filters: IRunFilters;
  onChange: (filters: IRunFilters) => void;
}

/** Milliseconds the notebook filter waits for typing to pause. */
const DEBOUNCE_MS = 300;

/**
 * Notebook (substring) and status filters; the sweep filter shows as a removable chip.
 */
export function RunsFilters({ filters, onChange }: IRunsFiltersProps): JSX.Element {
  const [notebook, setNotebook] = React.useState(filters.notebook);
  const latest = React.useRef(filters);
  latest.current = filters;

  React.useEffect(() => {
    if (notebook === latest.current.notebook) {
      return;
    }
    const timer = setTimeout(
      () => onChange({ ...latest.current, notebook }),
      DEBOUNCE_MS
    );
    return () => clearTimeout(timer);
  }, [notebook]);

  return (
    <div className="jp-mlops-filters" role="search" aria-label="Filter runs">
      <input
        type="search"
        className="jp-mlops-filter-notebook jp-mod-styled"
        placeholder="Filter by notebook"
        aria-label="Filter by notebook"
        value={notebook}
        onChange={event => setNotebook(event.target.value)}
      />
      <select
        className="jp-mlops-filter-status jp-mod-styled"
        aria-label="Filter by status"
        value={filters.status}
        onChange={event =>
          onChange({ ...filters, status: event.target.value as RunStatus | '' })
        }
      >
        <option value="">All statuses</option>
        {RUN_STATUSES.map(status => (
          <option key={status} value={status}>
            {status.replace('_', ' ')}
          </option>
        ))}
      </select>
      {filters.group_id ? (
        <button
          type="button"
          className="jp-mlops-chip"
          title="Show all runs"
          onClick={() => onChange({ ...filters, group_id: '' })}
        >
          sweep {filters.group_id.slice(0, 8)} ✕
        </button>
      ) : null}
    </div>
  );
}
