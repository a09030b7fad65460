import * as React from 'react';

import { deploymentStats, IDeploymentListItem, listDeployments } from '../api';
import { DeploymentDetail } from './DeploymentDetail';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { HostedModelsInline } from './HostedModels';
import { PagedList, StatusBadge } from './PagedList';
import { formatCount, formatMs, formatPercent } from './statsFormat';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

export function DeploymentsEmptyState(): JSX.Element {
  return (
    <p>
      No deployments yet. Deploy a registered model with{' '}
      <code>%mlops deploy name@production</code> or the notebook's Deploy
      button.
    </p>
  );
}

/**
 * Deployments: the list (status, URL, model version — or the hosted models
 * of a multi-model one — target, traffic), and one deployment in detail when
 * selected.
 */
export function DeploymentsTab(props: ITabProps): JSX.Element {
  const [localSelection, setLocalSelection] = React.useState<string | null>(
    null
  );
  const selected = props.model
    ? (props.model.selection.deployments ?? null)
    : localSelection;
  const select = (id: string | null): void => {
    if (props.model) {
      props.model.select('deployments', id);
    } else {
      setLocalSelection(id);
    }
  };
  if (selected) {
    return (
      <DeploymentDetail
        {...props}
        deploymentId={selected}
        onBack={() => select(null)}
      />
    );
  }
  return <DeploymentsList {...props} onSelect={select} />;
}

function DeploymentsList(
  props: ITabProps & { onSelect: (id: string) => void }
): JSX.Element {
  const { serverSettings } = props;
  const paged = usePaged<IDeploymentListItem>(
    query => listDeployments(query, serverSettings),
    props
  );
  return (
    <PagedList
      paged={paged}
      label="Deployments"
      emptyState={<DeploymentsEmptyState />}
      itemKey={deployment => deployment.id}
      renderItem={deployment => (
        <DeploymentRow
          deployment={deployment}
          onSelect={() => props.onSelect(deployment.id)}
        />
      )}
    />
  );
}

function DeploymentRow(props: {
  deployment: IDeploymentListItem;
  onSelect: () => void;
}): JSX.Element {
  const { deployment } = props;
  const stats = deploymentStats(deployment);
  const challenger = deployment.config?.canary ?? null;
  return (
    <div className="jp-mlops-row" data-deployment-id={deployment.id}>
      <div className="jp-mlops-row-main">
        <button
          type="button"
          className="jp-mlops-row-title jp-mlops-row-open"
          onClick={props.onSelect}
          title={`Show ${deployment.name}`}
        >
          {deployment.name}
        </button>
        <StatusBadge status={deployment.status} />
      </div>
      <div className="jp-mlops-row-meta">
        {deployment.models?.length ? (
          <span className="jp-mlops-hosted-count">
            {deployment.models.length} models
          </span>
        ) : (
          <>
            <span className="jp-mlops-version">
              {deployment.model}/{deployment.version}
            </span>
            {deployment.follows_alias ? (
              <span className="jp-mlops-alias">
                @{deployment.follows_alias}
              </span>
            ) : null}
          </>
        )}
        <span>{deployment.target}</span>
        {challenger ? (
          <span className="jp-mlops-canary-badge">
            canary v{challenger.version} {challenger.percent} %
          </span>
        ) : null}
        {deployment.url ? (
          <a
            className="jp-mlops-link jp-mlops-deployment-url"
            href={deployment.url}
            target="_blank"
            rel="noopener noreferrer"
          >
            {deployment.url}
          </a>
        ) : null}
      </div>
      <HostedModelsInline deployment={deployment} />
      {stats ? (
        <div className="jp-mlops-row-meta jp-mlops-stats-inline">
          <span title="Requests to /predict">
            {formatCount(stats.requests ?? stats.predictions)} req
          </span>
          <span title="Error rate">{formatPercent(stats.error_rate)} err</span>
          <span title="Latency p50 / p99">
            p50 {formatMs(stats.p50_ms)} · p99 {formatMs(stats.p99_ms)}
          </span>
        </div>
      ) : null}
      <div className="jp-mlops-row-meta">
        <span title={formatAbsoluteTime(deployment.updated_at)}>
          updated {formatRelativeTime(deployment.updated_at)}
        </span>
      </div>
      {deployment.status_reason ? (
        <div className="jp-mlops-row-description">
          {deployment.status_reason}
        </div>
      ) : null}
    </div>
  );
}
