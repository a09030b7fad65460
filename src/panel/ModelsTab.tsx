import * as React from 'react';

import { IModel, listModels } from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList } from './PagedList';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

export function ModelsEmptyState(): JSX.Element {
  return (
    <p>
      No models registered yet. In a notebook, register one with{' '}
      <code>mlops.register_model(model, "name", X_sample=X_train)</code> or{' '}
      <code>%mlops register name model</code>.
    </p>
  );
}

export function ModelsTab(props: ITabProps): JSX.Element {
  const { serverSettings } = props;
  const paged = usePaged<IModel>(
    query => listModels(query, serverSettings),
    props
  );
  return (
    <PagedList
      paged={paged}
      label="Models"
      emptyState={<ModelsEmptyState />}
      itemKey={model => model.name}
      renderItem={model => <ModelRow model={model} />}
    />
  );
}

function ModelRow({ model }: { model: IModel }): JSX.Element {
  const aliases = Object.entries(model.aliases ?? {});
  return (
    <div className="jp-mlops-row" data-model-name={model.name}>
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title">{model.name}</span>
        {model.latest_version !== null ? (
          <span className="jp-mlops-version">v{model.latest_version}</span>
        ) : null}
      </div>
      <div className="jp-mlops-row-meta">
        <span>
          {model.version_count}{' '}
          {model.version_count === 1 ? 'version' : 'versions'}
        </span>
        {aliases.map(([alias, version]) => (
          <span key={alias} className="jp-mlops-alias">
            {alias} → v{version}
          </span>
        ))}
        <span title={formatAbsoluteTime(model.updated_at)}>
          updated {formatRelativeTime(model.updated_at)}
        </span>
      </div>
      {model.description ? (
        <div className="jp-mlops-row-description">{model.description}</div>
      ) : null}
    </div>
  );
}
