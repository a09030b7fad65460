import * as React from 'react';

import type { IApproval, IMe } from '../api';
import { whyNot } from '../api';
import { decisionBlocked, PendingApprovals } from '../panel/Approvals';
import { page } from './fixtures';
import { fakeServer, reactRoot, waitFor } from './harness';

function me(username: string, role: string, permissions: string[]): IMe {
  return { username, role, permissions, groups: [], protected_aliases: ['production'] };
}

const EDITOR = me('bob', 'editor', ['read', 'run', 'register', 'deploy', 'set_alias']);
const APPROVER = me('alice', 'approver', [...EDITOR.permissions, 'approve']);
const VIEWER = me('carol', 'viewer', ['read']);

const APPROVAL: IApproval = {
  id: 'a1b2c3',
  model: 'churn',
  alias: 'production',
  version: 2,
  from_version: 1,
  status: 'pending',
  requested_by: 'bob',
  reason: 'better auc',
  gate: {
    applies: true,
    passed: false,
    checks: [
      { kind: 'threshold', metric: 'auc', value: 0.7, passed: false, message: 'auc 0.7 < 0.8' }
    ]
  },
  comparison: {
    candidate: { version: 2, metrics: { auc: 0.7 } },
    current: { version: 1, metrics: { auc: 0.81 } }
  },
  decided_by: null,
  decision_reason: '',
  overridden: false,
  created_at: '2026-03-03T09:00:00+00:00',
  decided_at: null
};

describe('governance in the panel', () => {
  const root = reactRoot();

  it('says why in the server’s words', () => {
    expect(whyNot(VIEWER, 'register')).toBe('carol (viewer) may not register models');
    expect(whyNot(APPROVER, 'approve')).toBeNull();
    expect(whyNot(null, 'approve')).toBeNull();
    expect(decisionBlocked(APPROVAL, EDITOR)).toBe(
      'bob (editor) may not approve promotions to protected aliases'
    );
    expect(decisionBlocked(APPROVAL, { ...APPROVER, username: 'bob' })).toMatch(
      /another approver/
    );
    expect(decisionBlocked(APPROVAL, APPROVER)).toBeNull();
  });

  it('shows a pending request with its gate and metrics, approvable by an approver', async () => {
    const { serverSettings, requests } = fakeServer({ approvals: () => page([APPROVAL]) });
    const props = { serverSettings, active: true, refreshInterval: 0, refreshToken: 0 };
    root.render(<PendingApprovals {...props} me={APPROVER} />);
    await waitFor(() => expect(root.container().querySelector('.jp-mlops-approval')).not.toBeNull());
    const card = root.container().querySelector('.jp-mlops-approval')!;
    expect(card.getAttribute('data-approval-id')).toBe('a1b2c3');
    expect(card.querySelector('.jp-mlops-approval-gate')!.getAttribute('data-gate')).toBe('failed');
    expect(
      Array.from(card.querySelectorAll('tr[data-metric="auc"] td')).map(td => td.textContent)
    ).toEqual(['auc', '0.7000', '0.8100']);
    const approve = card.querySelector('.jp-mlops-approve') as HTMLButtonElement;
    expect(approve.disabled).toBe(false);
    expect(requests[0].url.searchParams.get('status')).toBe('pending');

    root.render(<PendingApprovals {...props} me={EDITOR} />);
    await waitFor(() => {
      const button = root.container().querySelector('.jp-mlops-approve') as HTMLButtonElement;
      expect(button.disabled).toBe(true);
      expect(button.title).toBe('bob (editor) may not approve promotions to protected aliases');
    });
  });

  it('shows nothing when nothing waits', async () => {
    const { serverSettings, requests } = fakeServer({ approvals: () => page([]) });
    root.render(
      <PendingApprovals
        serverSettings={serverSettings}
        active={true}
        refreshInterval={0}
        refreshToken={0}
        me={VIEWER}
        modelName="churn"
      />
    );
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(requests[0].url.searchParams.get('model')).toBe('churn');
    expect(root.container().querySelector('.jp-mlops-approvals')).toBeNull();
  });
});
