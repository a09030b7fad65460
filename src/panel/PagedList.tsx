import * as React from 'react';

import { errorMessage } from '../api';
import { Pager } from './Pager';
import { IPaged } from './usePaged';

export interface IPagedListProps<T> {
  /** State from {@link usePaged}. */
  paged: IPaged<T>;
  /** Accessible name of the list, e.g. "Runs". */
  label: string;
  /** Shown when the list is empty or its endpoint is not on the server. */
  emptyState: React.ReactNode;
  itemKey: (item: T) => string;
  renderItem: (item: T) => React.ReactNode;
}

/**
 * A server-paginated list: inline error, honest empty state, rows, and
 * Previous/Next controls when there is more than one page.
 */
export function PagedList<T>(props: IPagedListProps<T>): JSX.Element {
  const { paged, label, emptyState, itemKey, renderItem } = props;
  const { page, error, notFound } = paged;

  if (notFound) {
    return <EmptyState>{emptyState}</EmptyState>;
  }

  const errorBox = error ? (
    <div className="jp-mlops-error" role="alert">
      {errorMessage(error)}
    </div>
  ) : null;

  if (page === null) {
    return (
      errorBox ?? (
        <div className="jp-mlops-loading" aria-busy="true">
          Loading {label.toLowerCase()}…
        </div>
      )
    );
  }

  if (page.items.length === 0 && page.total === 0) {
    return (
      <>
        {errorBox}
        <EmptyState>{emptyState}</EmptyState>
      </>
    );
  }

  return (
    <>
      {errorBox}
      <ul className="jp-mlops-list" aria-label={label} aria-busy={paged.loading}>
        {page.items.map(item => (
          <li className="jp-mlops-item" key={itemKey(item)}>
            {renderItem(item)}
          </li>
        ))}
      </ul>
      <Pager paged={paged} label={label} />
    </>
  );
}

function EmptyState(props: { children: React.ReactNode }): JSX.Element {
  return <div className="jp-mlops-empty">{props.children}</div>;
}

/** A status word as a themed badge, e.g. `<StatusBadge status="failed" />`. */
export function StatusBadge(props: { status: string }): JSX.Element {
  const status = props.status || 'unknown';
  return (
    <span
      className={`jp-mlops-status jp-mlops-status-${status.replace(/[^a-z_]/gi, '')}`}
    >
      {status.replace(/_/g, ' ')}
    </span>
  );
}
