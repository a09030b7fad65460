import * as React from 'react';

import { IAuditEntry, listAudit } from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList } from './PagedList';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

/** Audit entries per page. */
const AUDIT_PAGE = 10;

/** What an audit entry did, in words: `production: v1 → v2 (forced)`. */
export function describeAudit(entry: IAuditEntry): string {
  const from = entry.from_version !== null ? `v${entry.from_version}` : '—';
  const to = entry.to_version !== null ? `v${entry.to_version}` : '—';
  const forced = entry.forced ? ' (forced)' : '';
  switch (entry.action) {
    case 'set_alias':
      return `${entry.alias}: ${from} → ${to}${forced}`;
    case 'rollback':
      return `${entry.alias} rolled back: ${from} → ${to}`;
    case 'delete_alias':
      return `${entry.alias} removed (was ${from})`;
    case 'promotion_refused':
      return `${entry.alias}: ${to} refused by the quality gate`;
    case 'archive':
    case 'unarchive':
      return `${entry.action} ${to}`;
    default:
      return `${entry.action.replace(/_/g, ' ')}${entry.alias ? ` ${entry.alias}` : ''}${
        entry.to_version !== null ? ` ${to}` : ''
      }`;
  }
}

/** A model's audit log, newest first, paginated on the server. */
export function AuditLog(props: ITabProps & { name: string }): JSX.Element {
  const { name, serverSettings } = props;
  const paged = usePaged<IAuditEntry>(
    query => listAudit(name, query, serverSettings),
    { ...props, limit: AUDIT_PAGE }
  );
  return (
    <PagedList
      paged={paged}
      label="Audit log"
      emptyState={<p>No alias changes yet.</p>}
      itemKey={entry => String(entry.id)}
      renderItem={entry => (
        <div
          className="jp-mlops-audit-entry"
          data-action={entry.action}
          data-alias={entry.alias ?? ''}
        >
          <div className="jp-mlops-row-main">
            <span>{describeAudit(entry)}</span>
            <span
              className="jp-mlops-muted"
              title={formatAbsoluteTime(entry.created_at)}
            >
              {formatRelativeTime(entry.created_at)}
            </span>
          </div>
          <div className="jp-mlops-row-meta">
            {entry.user ? <span>by {entry.user}</span> : null}
            {entry.reason ? <span>“{entry.reason}”</span> : null}
          </div>
        </div>
      )}
    />
  );
}
