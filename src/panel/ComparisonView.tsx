import * as React from 'react';

import { IComparison } from '../api';
import { environmentLines } from './comparison';

export interface IComparisonViewProps {
  comparison: IComparison;
  /** Open the original run. */
  onOpenRun: (id: string) => void;
}

/**
 * The result of a reproduction: per code cell whether the outputs match the original
 * run (with the diff when not), and the differences in environment.
 */
export function ComparisonView({ comparison, onOpenRun }: IComparisonViewProps): JSX.Element {
  const outputs = comparison.outputs;
  const env = environmentLines(comparison.environment);
  return (
    <div
      className="jp-mlops-comparison"
      data-outputs-match={String(comparison.outputs_match)}
    >
      <p className={comparison.outputs_match ? 'jp-mlops-ok' : 'jp-mlops-warn'}>
        {comparison.outputs_match
          ? `Outputs match: ${outputs.matched}/${outputs.total} code cells.`
          : `Outputs differ: ${outputs.matched}/${outputs.total} code cells match.`}{' '}
        Original:{' '}
        <button
          type="button"
          className="jp-mlops-linkbutton"
          onClick={() => onOpenRun(comparison.original_run_id)}
        >
          {comparison.original_run_id}
        </button>
      </p>
      {outputs.note ? <p className="jp-mlops-muted">{outputs.note}</p> : null}
      {outputs.cells.length ? (
        <ol className="jp-mlops-cells" aria-label="Code cells">
          {outputs.cells.map(cell => (
            <li
              key={cell.code_cell}
              className={`jp-mlops-cell ${cell.match ? 'jp-mod-match' : 'jp-mod-mismatch'}`}
              data-match={String(cell.match)}
            >
              <span className="jp-mlops-cell-mark" aria-hidden="true">
                {cell.match ? '✓' : '✗'}
              </span>
              <span className="jp-mlops-cell-label">
                cell {cell.code_cell}: {cell.match ? 'match' : 'mismatch'}
              </span>
              <code className="jp-mlops-cell-source" title={cell.source}>
                {cell.source.split('\n')[0].slice(0, 60)}
              </code>
              {!cell.match && cell.diff ? (
                <details>
                  <summary>diff</summary>
                  <pre className="jp-mlops-diff">{cell.diff}</pre>
                </details>
              ) : null}
            </li>
          ))}
        </ol>
      ) : null}
      <h4 className="jp-mlops-subheading">Environment</h4>
      {env.length ? (
        <ul className="jp-mlops-env-diff" aria-label="Environment differences">
          {env.map(line => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : (
        <p className="jp-mlops-ok">Same environment (packages, git, data, Python).</p>
      )}
    </div>
  );
}
