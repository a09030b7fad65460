import { InputDialog, Notification } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  approveRequest,
  errorMessage,
  IApproval,
  IMe,
  IPage,
  listApprovals,
  rejectRequest,
  whyNot
} from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';
import { ITabProps } from './types';
import { useResource } from './useResource';

export interface IPendingApprovalsProps extends ITabProps {
  me: IMe | null;
  /** Only this model's requests (the model's detail view); all models otherwise. */
  modelName?: string;
  /** After an approval or a rejection (the alias may have moved). */
  onDecided?: () => void;
}

/**
 * Promotions to protected aliases waiting for an approver: the gate's result and the
 * candidate's metrics next to the current holder's, with Approve and Reject (each asks for a
 * reason; approving past a failed gate asks for the override reason). Nothing is shown when
 * nothing waits.
 */
export function PendingApprovals(props: IPendingApprovalsProps): JSX.Element | null {
  const { serverSettings, modelName, me } = props;
  const approvals = useResource<IPage<IApproval>>(
    () => listApprovals({ status: 'pending', model: modelName, limit: 50 }, serverSettings),
    [modelName, serverSettings],
    { active: props.active, refreshToken: props.refreshToken, interval: () => props.refreshInterval }
  );
  const items = approvals.value?.items ?? [];
  if (!items.length && !approvals.error) {
    return null;
  }
  const decided = (): void => {
    void approvals.reload();
    props.onDecided?.();
  };
  return (
    <section className="jp-mlops-section jp-mlops-approvals" aria-label="Pending approvals">
      <h4 className="jp-mlops-subheading">Pending approvals</h4>
      {approvals.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(approvals.error)}
        </div>
      ) : null}
      {items.map(approval => (
        <ApprovalCard
          key={approval.id}
          approval={approval}
          me={me}
          serverSettings={serverSettings}
          onDecided={decided}
        />
      ))}
    </section>
  );
}

function gateFailed(approval: IApproval): boolean {
  return approval.gate?.passed === false;
}

/** Why the user may not decide this request, or null. */
export function decisionBlocked(approval: IApproval, me: IMe | null): string | null {
  const refused = whyNot(me, 'approve');
  if (refused) {
    return refused;
  }
  if (me && approval.requested_by === me.username) {
    return 'You requested this promotion: another approver must decide it';
  }
  return null;
}

function ApprovalCard(props: {
  approval: IApproval;
  me: IMe | null;
  serverSettings: ITabProps['serverSettings'];
  onDecided: () => void;
}): JSX.Element {
  const { approval, me, serverSettings, onDecided } = props;
  const promotion = `${approval.model}@${approval.alias} → v${approval.version}`;
  const blocked = decisionBlocked(approval, me);
  const failed = gateFailed(approval);
  const candidate = approval.comparison?.candidate?.metrics ?? {};
  const current = approval.comparison?.current?.metrics ?? {};
  const metrics = Array.from(new Set([...Object.keys(candidate), ...Object.keys(current)])).sort();

  const decide = async (verb: 'approve' | 'reject'): Promise<void> => {
    const label =
      verb === 'reject'
        ? 'Why reject it? (required)'
        : failed
          ? 'The quality gate failed: why override it? (required)'
          : 'Reason (kept in the audit log)';
    const answer = await InputDialog.getText({
      title: `${verb === 'approve' ? 'Approve' : 'Reject'} ${promotion}`,
      label,
      okLabel: verb === 'approve' ? 'Approve' : 'Reject'
    });
    if (!answer.button.accept) {
      return;
    }
    const reason = (answer.value ?? '').trim();
    try {
      if (verb === 'approve') {
        await approveRequest(approval.id, { reason, override: failed }, serverSettings);
        Notification.success(`Approved: ${promotion}.`, { autoClose: 5000 });
      } else {
        await rejectRequest(approval.id, reason, serverSettings);
        Notification.info(`Rejected: ${promotion}.`, { autoClose: 5000 });
      }
      onDecided();
    } catch (error) {
      Notification.error(errorMessage(error), { autoClose: 10000 });
    }
  };

  return (
    <div
      className="jp-mlops-approval"
      data-approval-id={approval.id}
      data-model-name={approval.model}
      aria-label={`Approval ${promotion}`}
    >
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title">{promotion}</span>
        <span
          className={`jp-mlops-approval-gate jp-mlops-gate-${
            approval.gate?.applies ? (failed ? 'failed' : 'passed') : 'none'
          }`}
          data-gate={approval.gate?.applies ? (failed ? 'failed' : 'passed') : 'none'}
          title={(approval.gate?.checks ?? []).map(c => c.message).join('\n')}
        >
          {approval.gate?.applies ? (failed ? 'gate failed' : 'gate passed') : 'no gate'}
        </span>
      </div>
      <div className="jp-mlops-row-meta">
        <span>
          requested by {approval.requested_by}{' '}
          <span title={formatAbsoluteTime(approval.created_at)}>
            {formatRelativeTime(approval.created_at)}
          </span>
        </span>
        {approval.from_version !== null ? <span>now v{approval.from_version}</span> : null}
        {approval.reason ? <span>“{approval.reason}”</span> : null}
      </div>
      {approval.gate?.applies ? (
        <ul className="jp-mlops-approval-checks">
          {approval.gate.checks.map((check, index) => (
            <li key={index} data-passed={check.passed ? 'true' : 'false'}>
              {check.passed ? '✓' : '✗'} {check.message}
            </li>
          ))}
        </ul>
      ) : null}
      {metrics.length ? (
        <table className="jp-mlops-table jp-mlops-approval-comparison">
          <thead>
            <tr>
              <th>metric</th>
              <th>v{approval.version} (candidate)</th>
              <th>
                {approval.comparison?.current
                  ? `v${approval.comparison.current.version} (${approval.alias})`
                  : `${approval.alias} (unset)`}
              </th>
            </tr>
          </thead>
          <tbody>
            {metrics.map(metric => (
              <tr key={metric} data-metric={metric}>
                <td>{metric}</td>
                <td>{formatMetric(candidate[metric])}</td>
                <td>{formatMetric(current[metric])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="jp-mlops-actions">
        <Button
          small
          className="jp-mlops-approve"
          disabled={blocked !== null}
          title={blocked ?? `Move ${approval.alias} to v${approval.version}`}
          onClick={() => void decide('approve')}
        >
          Approve…
        </Button>
        <Button
          small
          minimal
          className="jp-mlops-reject"
          disabled={whyNot(me, 'approve') !== null}
          title={whyNot(me, 'approve') ?? 'Refuse this promotion (with a reason)'}
          onClick={() => void decide('reject')}
        >
          Reject…
        </Button>
      </div>
    </div>
  );
}

function formatMetric(value: unknown): string {
  if (typeof value !== 'number') {
    return '—';
  }
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
