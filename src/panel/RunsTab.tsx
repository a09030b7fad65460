import * as React from 'react';

import { IRun, isActive, listRuns } from '../api';
import { PagedList } from './PagedList';
import { RunDetail } from './RunDetail';
import { RunRow } from './RunRow';
import { IRunFilters, NO_FILTERS, RunsFilters } from './RunsFilters';
import { SweepsList } from './SweepsList';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

/** Seconds between re-fetches while a shown run is queued or running. */
export const LIVE_INTERVAL = 2;

export function RunsEmptyState(): JSX.Element {
  return (
    <p>
      No runs yet. Open a notebook and click 'Run with parameters' in its
      toolbar, or run <code>%mlops run notebook.ipynb</code> /{' '}
      <code>jupyter mlops run notebook.ipynb</code>.
    </p>
  );
}

/**
 * The Runs tab: the run list (filters, sweeps, live status) or, when a run is
 * selected (`model.select('runs', id)`), its detail view.
 */
export function RunsTab(props: ITabProps): JSX.Element {
  const [localSelection, setLocalSelection] = React.useState<string | null>(null);
  const selected = props.model ? props.model.selection.runs ?? null : localSelection;
  const select = (id: string | null): void => {
    if (props.model) {
      props.model.select('runs', id);
    } else {
      setLocalSelection(id);
    }
  };
  const [filters, setFilters] = React.useState<IRunFilters>(NO_FILTERS);
  // Sweeps are fetched only once a listed run belongs to one (no request otherwise).
  const [hasSweeps, setHasSweeps] = React.useState(false);

  if (selected) {
    return <RunDetail {...props} runId={selected} onSelect={select} />;
  }
  const filtered = Boolean(filters.notebook || filters.status || filters.group_id);
  return (
    <div className="jp-mlops-runs">
      <RunsFilters filters={filters} onChange={setFilters} />
      {hasSweeps || filters.group_id ? (
        <SweepsList
          {...props}
          onFilter={groupId => setFilters({ ...filters, group_id: groupId })}
          onOpenRun={select}
        />
      ) : null}
      <RunsList
        key={JSON.stringify(filters)}
        {...props}
        filters={filters}
        filtered={filtered}
        onOpen={select}
        onItems={items => {
          if (items.some(run => run.group_id)) {
            setHasSweeps(true);
          }
        }}
      />
    </div>
  );
}

interface IRunsListProps extends ITabProps {
  filters: IRunFilters;
  filtered: boolean;
  onOpen: (id: string) => void;
  /** Told about every page the server returns. */
  onItems: (items: IRun[]) => void;
}

/** One filter combination's paginated list; polls fast while a shown run is active. */
function RunsList(props: IRunsListProps): JSX.Element {
  const { serverSettings, filters, filtered, onOpen, onItems } = props;
  const [live, setLive] = React.useState(false);
  const paged = usePaged<IRun>(
    query => listRuns({ ...query, ...filters }, serverSettings),
    {
      ...props,
      refreshInterval: live ? LIVE_INTERVAL : props.refreshInterval
    }
  );
  const items = paged.page?.items;
  React.useEffect(() => {
    setLive(Boolean(items?.some(isActive)));
    if (items) {
      onItems(items);
    }
  }, [items]);

  return (
    <PagedList
      paged={paged}
      label="Runs"
      emptyState={
        filtered ? <p>No runs match these filters.</p> : <RunsEmptyState />
      }
      itemKey={run => run.id}
      renderItem={run => <RunRow run={run} onOpen={onOpen} />}
    />
  );
}
