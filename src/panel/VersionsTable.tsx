import * as React from 'react';

import { IModelVersion } from '../api';
import { AliasBadge } from './AliasBadge';
import { formatAbsoluteTime, formatMetric } from './format';
import { buildMetricsTable, lowerIsBetter } from './metricsTable';

export interface IVersionsTableProps {
  versions: IModelVersion[];
  /** The selected version (its actions and lineage show below the table). */
  selected: number | null;
  onSelect: (version: number) => void;
}

/**
 * A model's versions as rows with their metrics side by side (best value per metric
 * marked) and alias badges. A row is selected by click or Enter/Space; narrow enough
 * for the side panel (actions live under the table, for the selected version).
 */
export function VersionsTable(props: IVersionsTableProps): JSX.Element {
  const { versions, selected, onSelect } = props;
  const table = buildMetricsTable(versions);
  return (
    <div className="jp-mlops-table-scroll">
      <table className="jp-mlops-versions" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">version</th>
            {table.columns.map(column => (
              <th
                scope="col"
                key={column}
                className="jp-mlops-num"
                title={lowerIsBetter(column) ? 'lower is better' : 'higher is better'}
              >
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map(({ version, values }) => {
            const isSelected = selected === version.version;
            const classes = [
              'jp-mlops-row-clickable',
              isSelected ? 'jp-mod-selected' : '',
              version.archived ? 'jp-mod-archived' : ''
            ].filter(Boolean);
            return (
              <tr
                key={version.version}
                data-version={version.version}
                className={classes.join(' ')}
                tabIndex={0}
                aria-selected={isSelected}
                title={`v${version.version}, created ${formatAbsoluteTime(version.created_at)}${
                  version.created_by ? ` by ${version.created_by}` : ''
                }`}
                onClick={() => onSelect(version.version)}
                onKeyDown={event => {
                  if (event.key === 'Enter' || event.key === ' ') {
                    event.preventDefault();
                    onSelect(version.version);
                  }
                }}
              >
                <th scope="row">
                  <span className="jp-mlops-version">v{version.version}</span>
                  {version.archived ? (
                    <span className="jp-mlops-muted"> archived</span>
                  ) : null}{' '}
                  {version.aliases.map(alias => (
                    <AliasBadge
                      key={alias}
                      alias={alias}
                      version={version.version}
                      showVersion={false}
                    />
                  ))}
                </th>
                {values.map((value, index) => {
                  const column = table.columns[index];
                  const best = table.best[column]?.includes(version.version);
                  return (
                    <td
                      key={column}
                      className={`jp-mlops-num${best ? ' jp-mod-best' : ''}`}
                      data-metric={column}
                    >
                      {value === null ? '—' : formatMetric(value)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
