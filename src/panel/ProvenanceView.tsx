import * as React from 'react';

import { IProvenance } from '../api';
import { KeyValueTable } from './KeyValueTable';
import { shortHash } from './runFormat';

/** A sha256 shown short, the full value in its title and selectable. */
export function Hash({ sha }: { sha: string | null | undefined }): JSX.Element {
  return (
    <code className="jp-mlops-hash" title={sha ?? ''}>
      {shortHash(sha)}
    </code>
  );
}

/**
 * What a run's provenance records: notebook sha256, git, kernel and Python,
 * platform, input hashes, and the package list (expandable).
 */
export function ProvenanceView({
  provenance
}: {
  provenance: IProvenance | null | undefined;
}): JSX.Element {
  if (!provenance) {
    return <div className="jp-mlops-muted">No provenance recorded.</div>;
  }
  const git = provenance.git;
  const packages = Object.entries(provenance.packages ?? {}).sort(([a], [b]) =>
    a.localeCompare(b)
  );
  const kernel = provenance.kernel;
  const platform = provenance.platform;
  return (
    <div className="jp-mlops-provenance">
      <table className="jp-mlops-kv" aria-label="Provenance">
        <tbody>
          <tr data-key="notebook_sha256">
            <th scope="row">notebook sha256</th>
            <td>
              <Hash sha={provenance.notebook_sha256} />
            </td>
          </tr>
          <tr data-key="git">
            <th scope="row">git commit</th>
            <td>
              {git && git.commit ? (
                <>
                  <Hash sha={git.commit} />
                  {git.branch ? ` on ${git.branch}` : ''}
                  {git.dirty ? ' (uncommitted changes)' : ''}
                </>
              ) : (
                <span className="jp-mlops-muted">not in a git repository</span>
              )}
            </td>
          </tr>
          <tr data-key="kernel">
            <th scope="row">kernel</th>
            <td>
              {kernel?.name ?? '—'}
              {kernel?.language
                ? ` (${kernel.language} ${kernel.language_version ?? ''})`
                : ''}
            </td>
          </tr>
          <tr data-key="python">
            <th scope="row">python</th>
            <td title={provenance.python?.executable}>
              {provenance.python?.version ?? '—'}
            </td>
          </tr>
          {platform ? (
            <tr data-key="platform">
              <th scope="row">platform</th>
              <td>
                {[platform.system, platform.release, platform.machine]
                  .filter(Boolean)
                  .join(' ')}
                {platform.hostname ? ` @ ${platform.hostname}` : ''}
              </td>
            </tr>
          ) : null}
          {provenance.user ? (
            <tr data-key="user">
              <th scope="row">user</th>
              <td>{provenance.user}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <h4 className="jp-mlops-subheading">Input hashes</h4>
      <KeyValueTable
        label="Input file hashes"
        entries={provenance.inputs}
        empty="No declared or parameter input files."
        format={value => <Hash sha={String(value)} />}
      />
      <details className="jp-mlops-packages">
        <summary>
          {packages.length} {packages.length === 1 ? 'package' : 'packages'}
        </summary>
        <table className="jp-mlops-kv" aria-label="Installed packages">
          <tbody>
            {packages.map(([name, version]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{version}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}
