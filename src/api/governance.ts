/**
 * Client of the governance routes: who the user is (`GET me`: role and
 * permissions, fetched once per server), promotion requests to protected
 * aliases (`GET approvals`, `POST approvals/{id}/approve|reject`) and the whole
 * audit log (`GET audit`). Types are the generated OpenAPI types.
 */
import { ServerConnection } from '@jupyterlab/services';

import { getJSON, IPage, segment, sendJSON, withQuery } from './request';
import type { components } from './schema';

type Schemas = components['schemas'];
type Settings = ServerConnection.ISettings;

/** `GET me`: who the requests act as, their role and what it permits. */
export type IMe = Schemas['Me'];

/** A promotion to a protected alias waiting for (or decided by) an approver. */
export type IApproval = Schemas['Approval'];

/** The 202 answer of `PUT aliases/{alias}` when the promotion waits for approval. */
export type IApprovalResponse = Schemas['ApprovalResponse'];

/** `GET approvals` query. */
export type IApprovalsQuery = Schemas['ApprovalListQuery'];

/** `POST approvals/{id}/approve|reject` body. */
export type IApprovalDecision = Schemas['ApprovalDecisionRequest'];

/** A permission of the server's roles (`access.py`). */
export type Permission =
  | 'read'
  | 'run'
  | 'schedule'
  | 'register'
  | 'deploy'
  | 'set_alias'
  | 'monitor'
  | 'approve'
  | 'delete'
  | 'manage_gates';

/** What a refusal would say (as the server words it), or null when allowed. */
const PERMISSION_TEXT: Record<Permission, string> = {
  read: 'read the registry',
  run: 'run notebooks',
  schedule: 'schedule notebooks',
  register: 'register models',
  deploy: 'deploy models',
  set_alias: 'set aliases',
  monitor: 'manage monitors',
  approve: 'approve promotions to protected aliases',
  delete: 'delete models, versions or deployments',
  manage_gates: 'change quality gates'
};

/** Why `me` may not do `permission` (the server's wording), or null if it may. */
export function whyNot(me: IMe | null, permission: Permission): string | null {
  if (!me || me.permissions.includes(permission)) {
    return null;
  }
  return `${me.username} (${me.role}) may not ${PERMISSION_TEXT[permission]}`;
}

/** Whether a promotion result is a pending approval request (HTTP 202). */
export function isApprovalResponse(value: unknown): value is IApprovalResponse {
  return typeof value === 'object' && value !== null && 'approval' in value;
}

const meCache = new Map<string, Promise<IMe>>();

/** `GET me`, asked once per server (the role does not change while the lab runs). */
export function getMe(settings?: Settings): Promise<IMe> {
  const key = settings?.baseUrl ?? '';
  let cached = meCache.get(key);
  if (!cached) {
    cached = getJSON<IMe>('me', settings);
    cached.catch(() => meCache.delete(key));
    meCache.set(key, cached);
  }
  return cached;
}

/** `GET approvals` (newest first; `status: 'pending'` for those waiting). */
export function listApprovals(
  query: IApprovalsQuery,
  settings?: Settings
): Promise<IPage<IApproval>> {
  return getJSON<IPage<IApproval>>(withQuery('approvals', query), settings);
}

/** `POST approvals/{id}/approve` — the alias moves; `override` past a failed gate. */
export function approveRequest(
  id: string,
  body: IApprovalDecision,
  settings?: Settings
): Promise<IApproval> {
  return sendJSON<IApproval>('POST', `approvals/${segment(id)}/approve`, body, settings);
}

/** `POST approvals/{id}/reject` — a reason is required. */
export function rejectRequest(
  id: string,
  reason: string,
  settings?: Settings
): Promise<IApproval> {
  const body: IApprovalDecision = { reason };
  return sendJSON<IApproval>('POST', `approvals/${segment(id)}/reject`, body, settings);
}
