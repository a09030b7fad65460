import * as React from 'react';

import { IDeployment, IHostedModel } from '../api';

/** What the serving process last said about a hosted model being in memory. */
export function loadedLabel(hosted: IHostedModel): string {
  if (hosted.loaded === null || hosted.loaded === undefined) {
    return '—';
  }
  return hosted.loaded ? 'loaded' : 'unloaded';
}

function versionText(hosted: IHostedModel): string {
  return hosted.challenger_version
    ? `v${hosted.version} (challenger v${hosted.challenger_version})`
    : `v${hosted.version}`;
}

/**
 * The models of a multi-model deployment on one row of the list: name,
 * version served, alias followed, loaded or not. Nothing for a single model.
 */
export function HostedModelsInline(props: {
  deployment: IDeployment;
}): JSX.Element | null {
  const models = props.deployment.models ?? [];
  if (models.length === 0) {
    return null;
  }
  return (
    <div className="jp-mlops-row-meta jp-mlops-hosted-models">
      {models.map(hosted => (
        <span
          key={hosted.name}
          className="jp-mlops-hosted-model"
          data-hosted-model={hosted.name}
          title={`${hosted.model_ref} at /models/${hosted.name}/predict (${loadedLabel(hosted)})`}
        >
          {hosted.name}/{hosted.version}
          {hosted.follows_alias ? ` @${hosted.follows_alias}` : ''}
          {hosted.loaded === false ? ' (unloaded)' : ''}
        </span>
      ))}
    </div>
  );
}

/**
 * The models a multi-model deployment hosts in one process, each routed by
 * its name: reference, version served, loaded (max_loaded_models unloads the
 * least recently used). Nothing for a single-model deployment.
 */
export function HostedModelsTable(props: {
  deployment: IDeployment;
}): JSX.Element | null {
  const { deployment } = props;
  const models = deployment.models ?? [];
  if (models.length === 0) {
    return null;
  }
  const limit = deployment.config.max_loaded_models;
  return (
    <section className="jp-mlops-section" aria-label="Hosted models">
      <h4 className="jp-mlops-section-title">
        {models.length} models in one process
        {limit ? `, at most ${limit} loaded` : ''}
      </h4>
      <table className="jp-mlops-table jp-mlops-hosted-table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Reference</th>
            <th>Serves</th>
            <th>Loaded</th>
          </tr>
        </thead>
        <tbody>
          {models.map(hosted => (
            <tr key={hosted.name} data-hosted-model={hosted.name}>
              <td>
                <code>/models/{hosted.name}</code>
              </td>
              <td>{hosted.model_ref}</td>
              <td className="jp-mlops-hosted-version">{versionText(hosted)}</td>
              <td className="jp-mlops-hosted-loaded">{loadedLabel(hosted)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
