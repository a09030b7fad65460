import { showDialog, Dialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  deploymentAction,
  errorMessage,
  getDeployment,
  getModelVersion,
  IDeployment,
  IDeploymentWithStats,
  whyNot
} from '../api';
import { CopyButton } from '../dialogs/CopyButton';
import { curlCommand, exampleRecord } from '../dialogs/deployProgress';
import { CanaryForm } from './CanaryForm';
import { DeploymentDrift } from './DeploymentDrift';
import { DeploymentLogs } from './DeploymentLogs';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { HostedModelsTable } from './HostedModels';
import { StatusBadge } from './PagedList';
import { formatCount, formatMs, formatPercent } from './statsFormat';
import { ITabProps } from './types';
import { useMe } from './useMe';
import { usePolled } from './usePolled';

export interface IDeploymentDetailProps extends ITabProps {
  deploymentId: string;
  onBack: () => void;
}

/**
 * One deployment: status, endpoint and curl example, its hosted models (a
 * multi-model one), traffic statistics, stop/restart, its drift monitor,
 * canary split (single-model) and logs.
 */
export function DeploymentDetail(props: IDeploymentDetailProps): JSX.Element {
  const { deploymentId, serverSettings } = props;
  const refused = whyNot(useMe(serverSettings), 'deploy');
  const polled = usePolled(
    () => getDeployment(deploymentId, serverSettings),
    {
      key: deploymentId,
      active: props.active,
      refreshInterval: props.refreshInterval,
      refreshToken: props.refreshToken
    }
  );
  const [busy, setBusy] = React.useState<string | null>(null);
  const [actionError, setActionError] = React.useState<string | null>(null);
  const deployment = polled.data;

  const act = async (action: 'stop' | 'restart'): Promise<void> => {
    if (action === 'stop') {
      const answer = await showDialog({
        title: 'Stop deployment',
        body: `Stop ${deployment?.name ?? deploymentId}? Its endpoint stops answering.`,
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Stop' })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
    }
    setBusy(action);
    setActionError(null);
    try {
      await deploymentAction(deploymentId, action, serverSettings);
    } catch (err) {
      setActionError(`${action}: ${errorMessage(err)}`);
    } finally {
      setBusy(null);
      void polled.reload();
    }
  };

  return (
    <div className="jp-mlops-detail" data-deployment-id={deploymentId}>
      <div className="jp-mlops-detail-header">
        <Button
          className="jp-mlops-back"
          small
          minimal
          onClick={props.onBack}
          aria-label="Back to the deployments"
        >
          ← Deployments
        </Button>
      </div>
      {polled.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(polled.error)}
        </div>
      ) : null}
      {deployment === null ? (
        polled.error ? null : (
          <div className="jp-mlops-loading" aria-busy="true">
            Loading deployment…
          </div>
        )
      ) : (
        <>
          <h3 className="jp-mlops-detail-title">
            {deployment.name} <StatusBadge status={deployment.status} />
          </h3>
          {deployment.status_reason ? (
            <div className="jp-mlops-row-description">
              {deployment.status_reason}
            </div>
          ) : null}
          <DeploymentFacts deployment={deployment} />
          <HostedModelsTable deployment={deployment} />
          <DeploymentStatsGrid deployment={deployment} />
          <div className="jp-mlops-actions">
            <Button
              className="jp-mlops-restart"
              small
              disabled={busy !== null || refused !== null}
              title={refused ?? 'Restart the serving process'}
              onClick={() => void act('restart')}
            >
              {busy === 'restart' ? 'Restarting…' : 'Restart'}
            </Button>
            <Button
              className="jp-mlops-stop"
              small
              disabled={busy !== null || deployment.status === 'stopped' || refused !== null}
              title={refused ?? 'Stop serving'}
              onClick={() => void act('stop')}
            >
              {busy === 'stop' ? 'Stopping…' : 'Stop'}
            </Button>
          </div>
          {actionError ? (
            <div className="jp-mlops-error" role="alert">
              {actionError}
            </div>
          ) : null}
          {deployment.url ? (
            <CurlExample deployment={deployment} {...props} />
          ) : null}
          <DeploymentDrift {...props} deploymentId={deploymentId} />
          {deployment.models?.length ? null : (
            <CanaryForm
              deployment={deployment}
              serverSettings={serverSettings}
              onChanged={() => void polled.reload()}
            />
          )}
          <DeploymentLogs
            deploymentId={deploymentId}
            serverSettings={serverSettings}
          />
        </>
      )}
    </div>
  );
}

function DeploymentFacts({
  deployment
}: {
  deployment: IDeployment;
}): JSX.Element {
  return (
    <dl className="jp-mlops-facts">
      {deployment.models?.length ? (
        <>
          <dt>Models</dt>
          <dd className="jp-mlops-deployment-models">
            {deployment.models.map(hosted => hosted.name).join(', ')}
          </dd>
        </>
      ) : (
        <>
          <dt>Model</dt>
          <dd>
            <code>
              {deployment.model}/{deployment.version}
            </code>
            {deployment.follows_alias
              ? ` (follows @${deployment.follows_alias})`
              : ''}
          </dd>
        </>
      )}
      <dt>Target</dt>
      <dd>{deployment.target}</dd>
      <dt>URL</dt>
      <dd>
        {deployment.url ? (
          <>
            <a
              className="jp-mlops-link jp-mlops-deployment-url"
              href={`${deployment.url}/docs`}
              target="_blank"
              rel="noopener noreferrer"
            >
              {deployment.url}
            </a>{' '}
            <CopyButton text={deployment.url} label="Copy endpoint URL" />
          </>
        ) : (
          '—'
        )}
      </dd>
      {deployment.image ? (
        <>
          <dt>Image</dt>
          <dd>
            <code>{deployment.image}</code>
          </dd>
        </>
      ) : null}
      {deployment.restarts || deployment.config.restart_policy ? (
        <>
          <dt>Restarts</dt>
          <dd className="jp-mlops-deployment-restarts">
            {deployment.restarts ?? 0}
            {deployment.config.restart_policy
              ? ` (restart policy ${deployment.config.restart_policy.policy}, at most ${deployment.config.restart_policy.max_restarts})`
              : ''}
          </dd>
        </>
      ) : null}
      {deployment.manifest_path ? (
        <>
          <dt>Manifest</dt>
          <dd>
            <code>{deployment.manifest_path}</code>
          </dd>
        </>
      ) : null}
      <dt>Created</dt>
      <dd title={formatAbsoluteTime(deployment.created_at)}>
        {formatRelativeTime(deployment.created_at)}
        {deployment.created_by ? ` by ${deployment.created_by}` : ''}
      </dd>
    </dl>
  );
}

function DeploymentStatsGrid({
  deployment
}: {
  deployment: IDeploymentWithStats;
}): JSX.Element | null {
  const stats = deployment.stats;
  if (!stats) {
    return null;
  }
  const cells: [string, string][] = [
    ['Requests', formatCount(stats.requests)],
    ['Predictions', formatCount(stats.predictions)],
    ['Error rate', formatPercent(stats.error_rate)],
    ['p50', formatMs(stats.p50_ms)],
    ['p99', formatMs(stats.p99_ms)]
  ];
  return (
    <dl className="jp-mlops-stats" aria-label="Traffic">
      {cells.map(([label, value]) => (
        <div
          className="jp-mlops-stat"
          key={label}
          data-stat={label.toLowerCase()}
        >
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function CurlExample(
  props: IDeploymentDetailProps & { deployment: IDeployment }
): JSX.Element | null {
  const { deployment, serverSettings } = props;
  const version = usePolled(
    () =>
      getModelVersion(deployment.model, deployment.version, serverSettings),
    {
      key: `${deployment.model}/${deployment.version}`,
      active: props.active,
      refreshInterval: 0,
      refreshToken: 0
    }
  );
  if (!version.data || !deployment.url) {
    return null;
  }
  // a multi-model deployment answers each model under /models/{name}/
  const base = deployment.models?.length
    ? `${deployment.url}/models/${deployment.model}`
    : deployment.url;
  const curl = curlCommand(base, [
    exampleRecord(version.data.signature, version.data.profile)
  ]);
  return (
    <section className="jp-mlops-section" aria-label="Example request">
      <h4 className="jp-mlops-section-title">
        Try it{' '}
        <CopyButton
          text={curl}
          label="Copy curl command"
          className="jp-mlops-copy-curl"
        />
      </h4>
      <pre className="jp-mlops-deploy-curl">{curl}</pre>
    </section>
  );
}
