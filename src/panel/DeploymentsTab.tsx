import * as React from 'react';

import { IDeployment, listDeployments } from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList, StatusBadge } from './PagedList';
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

export function DeploymentsTab(props: ITabProps): JSX.Element {
  const { serverSettings } = props;
  const paged = usePaged<IDeployment>(
    query => listDeployments(query, serverSettings),
    props
  );
  return (
    <PagedList
      paged={paged}
      label="Deployments"
      emptyState={<DeploymentsEmptyState />}
      itemKey={deployment => deployment.id}
      renderItem={deployment => <DeploymentRow deployment={deployment} />}
    />
  );
}

function DeploymentRow({
  deployment
}: {
  deployment: IDeployment;
}): JSX.Element {
  return (
    <div className="jp-mlops-row" data-deployment-id={deployment.id}>
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title">{deployment.name}</span>
        <StatusBadge status={deployment.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span>{deployment.model_ref}</span>
        <span>{deployment.target}</span>
        {deployment.url ? (
          <a
            className="jp-mlops-link"
            href={deployment.url}
            target="_blank"
            rel="noopener noreferrer"
          >
            {deployment.url}
          </a>
        ) : null}
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
