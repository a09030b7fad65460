import * as React from 'react';

import { IModel, listModels } from '../api';
import { AliasBadge } from './AliasBadge';
import { PendingApprovals } from './Approvals';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { ModelDetail } from './ModelDetail';
import { PagedList } from './PagedList';
import { ITabProps } from './types';
import { useMe } from './useMe';
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

/**
 * The Models tab: promotions waiting for an approver, then registered models with their
 * latest version and alias badges, or, when one is selected (`model.select('models',
 * name)`), its detail view.
 */
export function ModelsTab(props: ITabProps): JSX.Element {
  const [localSelection, setLocalSelection] = React.useState<string | null>(null);
  const selected = props.model
    ? props.model.selection.models ?? null
    : localSelection;
  const select = (name: string | null): void => {
    if (props.model) {
      props.model.select('models', name);
    } else {
      setLocalSelection(name);
    }
  };
  const me = useMe(props.serverSettings);
  // Bumped after an approval or rejection: the list re-fetches (an alias may have moved).
  const [decisions, setDecisions] = React.useState(0);
  if (selected) {
    return <ModelDetail {...props} me={me} name={selected} onBack={() => select(null)} />;
  }
  return (
    <>
      <PendingApprovals {...props} me={me} onDecided={() => setDecisions(d => d + 1)} />
      <ModelsList
        {...props}
        refreshToken={props.refreshToken * 1000 + decisions}
        onOpen={select}
      />
    </>
  );
}

function ModelsList(props: ITabProps & { onOpen: (name: string) => void }): JSX.Element {
  const { serverSettings, onOpen } = props;
  const paged = usePaged<IModel>(query => listModels(query, serverSettings), props);
  return (
    <PagedList
      paged={paged}
      label="Models"
      emptyState={<ModelsEmptyState />}
      itemKey={model => model.name}
      renderItem={model => <ModelRow model={model} onOpen={onOpen} />}
    />
  );
}

function ModelRow({
  model,
  onOpen
}: {
  model: IModel;
  onOpen: (name: string) => void;
}): JSX.Element {
  const aliases = Object.entries(model.aliases ?? {});
  return (
    <div
      className="jp-mlops-row jp-mlops-row-clickable"
      data-model-name={model.name}
      role="button"
      tabIndex={0}
      aria-label={`Model ${model.name}`}
      onClick={() => onOpen(model.name)}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onOpen(model.name);
        }
      }}
    >
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title">{model.name}</span>
        {model.latest_version !== null ? (
          <span className="jp-mlops-version" title="latest version">
            v{model.latest_version}
          </span>
        ) : null}
      </div>
      <div className="jp-mlops-row-meta">
        <span>
          {model.version_count} {model.version_count === 1 ? 'version' : 'versions'}
        </span>
        {aliases.map(([alias, version]) => (
          <AliasBadge key={alias} alias={alias} version={version} />
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
