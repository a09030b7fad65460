/**
 * The logic of the one-click deploy dialog, kept out of React so it can be
 * tested: the dialog's state machine (submit → poll → succeeded | failed),
 * the per-step view, and the curl example builder.
 */
import type { IDeployJob, IDeployStep, IProfile, ISignature } from '../api';

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

/** The steps of a one-click deploy, in order, with their labels. */
export const DEPLOY_STEPS = [
  { name: 'run', label: 'Run the notebook' },
  { name: 'register', label: 'Register the model' },
  { name: 'serve', label: 'Build and serve' },
  { name: 'healthy', label: 'Healthy' }
] as const;

export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface IStepView {
  name: string;
  label: string;
  state: StepState;
  detail: string;
  /** Seconds the step took (or has taken so far), null before it started. */
  seconds: number | null;
}

const KNOWN_STATES: ReadonlySet<string> = new Set([
  'pending',
  'running',
  'done',
  'skipped',
  'failed'
]);

/**
 * What each step row shows, in the fixed order run → register → serve →
 * healthy, whatever order (or subset) the server sent.
 *
 * @param job The job as polled (null before the server answered).
 * @param now Reference time for the running step's elapsed seconds.
 */
export function stepViews(
  job: Pick<IDeployJob, 'steps'> | null,
  now: number = Date.now()
): IStepView[] {
  const byName = new Map<string, IDeployStep>();
  for (const step of job?.steps ?? []) {
    byName.set(step.name, step);
  }
  return DEPLOY_STEPS.map(({ name, label }) => {
    const step = byName.get(name);
    const state = (
      step && KNOWN_STATES.has(step.status) ? step.status : 'pending'
    ) as StepState;
    return {
      name,
      label,
      state,
      detail: step?.detail ?? '',
      seconds: elapsedSeconds(step, state, now)
    };
  });
}

function elapsedSeconds(
  step: IDeployStep | undefined,
  state: StepState,
  now: number
): number | null {
  if (!step?.started_at) {
    return null;
  }
  const start = Date.parse(step.started_at);
  const end =
    state === 'running' || !step.finished_at
      ? now
      : Date.parse(step.finished_at);
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return null;
  }
  return Math.max(0, (end - start) / 1000);
}

// ---------------------------------------------------------------------------
// Dialog state machine
// ---------------------------------------------------------------------------

export type DeployPhase = 'submitting' | 'polling' | 'succeeded' | 'failed';

export interface IDeployState {
  phase: DeployPhase;
  job: IDeployJob | null;
  /** The server's message when failed. */
  error: string | null;
  /** Consecutive failed polls (network hiccups); reset by a good answer. */
  pollFailures: number;
}

export type DeployAction =
  | { type: 'submitted'; job: IDeployJob }
  | { type: 'submitFailed'; message: string }
  | { type: 'polled'; job: IDeployJob }
  | { type: 'pollFailed'; message: string; lost: boolean };

/** Polls that may fail in a row (server busy, network) before giving up. */
export const MAX_POLL_FAILURES = 5;

export const INITIAL_DEPLOY_STATE: IDeployState = {
  phase: 'submitting',
  job: null,
  error: null,
  pollFailures: 0
};

/** Whether the dialog is still waiting for the job. */
export function isActive(state: IDeployState): boolean {
  return state.phase === 'submitting' || state.phase === 'polling';
}

function fromJob(job: IDeployJob): IDeployState {
  if (job.status === 'succeeded') {
    return { phase: 'succeeded', job, error: null, pollFailures: 0 };
  }
  if (job.status === 'failed') {
    const failed = job.steps.find(step => step.status === 'failed');
    return {
      phase: 'failed',
      job,
      error: job.error || failed?.detail || 'The deploy job failed.',
      pollFailures: 0
    };
  }
  return { phase: 'polling', job, error: null, pollFailures: 0 };
}

/**
 * The dialog's state machine. A finished job (succeeded or failed) is final:
 * late answers of polls still in flight do not change it.
 */
export function deployReducer(
  state: IDeployState,
  action: DeployAction
): IDeployState {
  if (!isActive(state)) {
    return state;
  }
  switch (action.type) {
    case 'submitted':
    case 'polled':
      return fromJob(action.job);
    case 'submitFailed':
      return { ...state, phase: 'failed', error: action.message };
    case 'pollFailed': {
      const pollFailures = state.pollFailures + 1;
      if (action.lost || pollFailures >= MAX_POLL_FAILURES) {
        return {
          ...state,
          phase: 'failed',
          error: action.lost
            ? `The server no longer knows this deploy job (${action.message}). ` +
              'It may have restarted; see the Deployments tab.'
            : `Lost contact with the deploy job: ${action.message}`,
          pollFailures
        };
      }
      return { ...state, pollFailures };
    }
  }
  return state;
}

// ---------------------------------------------------------------------------
// curl example
// ---------------------------------------------------------------------------

/** Quote a string for a POSIX shell (single quotes). */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) {
    return text;
  }
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * One plausible input row from a signature: the reference profile's mean for
 * numeric features (rounded to 4 decimals; integers for integer dtypes), the
 * first category for categorical ones, `false` for booleans. Mirrors the
 * server's `example_record`.
 */
export function exampleRecord(
  signature: ISignature | null | undefined,
  profile?: IProfile | null
): Record<string, unknown> {
  const columns = profile?.columns ?? {};
  const row: Record<string, unknown> = {};
  for (const input of signature?.inputs ?? []) {
    const kind = input.kind ?? 'numeric';
    if (kind === 'categorical') {
      row[input.name] = input.categories?.[0] ?? '';
    } else if (kind === 'boolean') {
      row[input.name] = false;
    } else {
      const mean = columns[input.name]?.mean;
      const value =
        typeof mean === 'number' && isFinite(mean)
          ? Math.round(mean * 1e4) / 1e4
          : 0;
      row[input.name] = /int/.test(input.dtype ?? '')
        ? Math.round(value)
        : value;
    }
  }
  return row;
}

/**
 * A ready-to-paste curl call of the endpoint's `/predict`.
 *
 * @param url The deployment's base URL (a trailing slash is dropped).
 * @param records The rows to send.
 */
export function curlCommand(
  url: string,
  records: Record<string, unknown>[]
): string {
  const base = url.replace(/\/+$/, '');
  const body = JSON.stringify({ records });
  return (
    `curl -s -X POST ${shellQuote(`${base}/predict`)} ` +
    `-H 'Content-Type: application/json' -d ${shellQuote(body)}`
  );
}
