import * as React from 'react';

import { formatValue } from './runFormat';

export interface IKeyValueTableProps {
  /** Accessible name of the table. */
  label: string;
  entries: Record<string, unknown> | null | undefined;
  /** Shown instead of an empty table. */
  empty?: string;
  /** Format one value (default: short JSON / 4 significant digits). */
  format?: (value: unknown) => React.ReactNode;
  className?: string;
}

/** A two-column table of names and values (parameters, metrics, hashes). */
export function KeyValueTable(props: IKeyValueTableProps): JSX.Element {
  const entries = Object.entries(props.entries ?? {});
  if (!entries.length) {
    return <div className="jp-mlops-muted">{props.empty ?? 'none'}</div>;
  }
  const format = props.format ?? ((value: unknown) => formatValue(value, 200));
  return (
    <table className={`jp-mlops-kv ${props.className ?? ''}`} aria-label={props.label}>
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key} data-key={key}>
            <th scope="row">{key}</th>
            <td>{format(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
