import * as React from 'react';

import { ILineage } from '../api';
import { formatAbsoluteTime } from './format';
import { KeyValueTable } from './KeyValueTable';
import { Hash } from './ProvenanceView';

/** `sklearn.linear_model._logistic.LogisticRegression` → `LogisticRegression`. */
export function shortClass(qualified: string): string {
  const parts = qualified.split('.');
  return parts[parts.length - 1] || qualified;
}

export interface ILineageViewProps {
  lineage: ILineage;
  /** Show the run in the Runs tab. */
  onOpenRun?: (id: string) => void;
}

/**
 * Where a version comes from: run → notebook (path, sha256) → parameters → commit →
 * input data hashes → environment. Missing links are said, not hidden.
 */
export function LineageView({ lineage, onOpenRun }: ILineageViewProps): JSX.Element {
  const { run, notebook, git, environment } = lineage;
  const packages = Object.keys(environment?.packages ?? {}).length;
  return (
    <div className="jp-mlops-lineage" data-version={lineage.model.version}>
      <table className="jp-mlops-kv" aria-label="Lineage">
        <tbody>
          <tr data-key="artifact">
            <th scope="row">artifact</th>
            <td>
              <Hash sha={lineage.model.artifact_sha256} /> {lineage.model.serialization}
              {lineage.model.model_class ? (
                <span title={lineage.model.model_class}>
                  {' '}
                  · {shortClass(lineage.model.model_class)}
                </span>
              ) : null}
            </td>
          </tr>
          <tr data-key="run">
            <th scope="row">run</th>
            <td>
              {run ? (
                <>
                  {onOpenRun ? (
                    <button
                      type="button"
                      className="jp-mlops-linkbutton"
                      onClick={() => onOpenRun(run.id)}
                    >
                      {run.id}
                    </button>
                  ) : (
                    <code>{run.id}</code>
                  )}{' '}
                  ({run.kind}, {run.status}
                  {run.finished_at ? `, ${formatAbsoluteTime(run.finished_at)}` : ''})
                </>
              ) : (
                <span className="jp-mlops-muted">registered outside a run</span>
              )}
            </td>
          </tr>
          <tr data-key="notebook">
            <th scope="row">notebook</th>
            <td>
              {notebook ? (
                <>
                  <code>{notebook.path}</code> <Hash sha={notebook.sha256} />
                </>
              ) : (
                '—'
              )}
            </td>
          </tr>
          <tr data-key="git">
            <th scope="row">commit</th>
            <td>
              {git?.commit ? (
                <>
                  <Hash sha={git.commit} />
                  {git.branch ? ` on ${git.branch}` : ''}
                  {git.dirty ? ' (uncommitted changes)' : ''}
                </>
              ) : (
                <span className="jp-mlops-muted">unknown</span>
              )}
            </td>
          </tr>
          <tr data-key="environment">
            <th scope="row">environment</th>
            <td>
              {environment?.python?.version
                ? `Python ${environment.python.version}`
                : 'Python ?'}
              {environment?.kernel?.name ? ` · kernel ${environment.kernel.name}` : ''}
              {packages ? ` · ${packages} packages` : ''}
            </td>
          </tr>
        </tbody>
      </table>
      <h4 className="jp-mlops-subheading">Parameters</h4>
      <KeyValueTable label="Lineage parameters" entries={lineage.parameters} />
      <h4 className="jp-mlops-subheading">Data</h4>
      <KeyValueTable
        label="Input data hashes"
        entries={lineage.inputs}
        empty="No input data hashes recorded."
        format={value => <Hash sha={String(value)} />}
      />
      {lineage.missing.length ? (
        <p className="jp-mlops-muted">Not recorded: {lineage.missing.join(', ')}.</p>
      ) : null}
    </div>
  );
}
