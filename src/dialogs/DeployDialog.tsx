import { Clipboard, Dialog, Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import * as React from 'react';

import {
  deployNotebook,
  DeployTarget,
  errorMessage,
  getDeployJob,
  IDeployJob,
  isNotFound
} from '../api';
import { CopyButton } from './CopyButton';
import {
  deployReducer,
  INITIAL_DEPLOY_STATE,
  isActive,
  IStepView,
  MAX_POLL_FAILURES,
  stepViews
} from './deployProgress';

/** Milliseconds between two polls of the deploy job. */
export const POLL_INTERVAL_MS = 1000;

export interface IDeployRequest {
  path: string;
  parameters: Record<string, unknown>;
  target: DeployTarget;
}

export interface IDeployProgressProps {
  request: IDeployRequest;
  serverSettings?: ServerConnection.ISettings;
  /** Called with the job the server accepted (even after unmounting). */
  onJob?: (job: IDeployJob) => void;
  /** Called once when the job has finished (succeeded or failed). */
  onFinished?: (succeeded: boolean) => void;
  /** When given, the result has a "Show in panel" button calling it. */
  onShowDeployment?: (deploymentId: string) => void;
  /** When given, the result links to the deployment's drift monitor through it. */
  onShowDrift?: (deploymentId: string) => void;
}

const STATE_TEXT: Record<IStepView['state'], string> = {
  pending: 'waiting',
  running: 'in progress',
  done: 'done',
  skipped: 'skipped',
  failed: 'failed'
};

const STATE_GLYPH: Record<IStepView['state'], string> = {
  pending: '○',
  running: '◌',
  done: '✓',
  skipped: '↷',
  failed: '✕'
};

/**
 * Submits `POST deploy/notebook` and shows the job step by step
 * (run → register → serve → healthy) until it ends, then the endpoint URL and
 * a ready-to-copy curl call, or the server's error message.
 */
export function DeployProgress(props: IDeployProgressProps): JSX.Element {
  const { request, serverSettings } = props;
  const [state, dispatch] = React.useReducer(
    deployReducer,
    INITIAL_DEPLOY_STATE
  );
  const [now, setNow] = React.useState(Date.now());
  const active = isActive(state);
  const jobId = state.job?.id ?? null;

  // Submit once.
  React.useEffect(() => {
    let cancelled = false;
    deployNotebook(
      {
        path: request.path,
        parameters: request.parameters,
        target: request.target
      },
      serverSettings
    )
      .then(job => {
        props.onJob?.(job);
        if (!cancelled) {
          dispatch({ type: 'submitted', job });
        }
      })
      .catch(err => {
        if (!cancelled) {
          dispatch({ type: 'submitFailed', message: errorMessage(err) });
        }
      });
    return () => {
      cancelled = true;
    };
  }, []);

  // Poll while the job runs; one request at a time, the first a second after the submit.
  React.useEffect(() => {
    if (!active || jobId === null) {
      return;
    }
    const poll = new Poll<void, unknown>({
      auto: false,
      name: 'jupyterlab-mlops:deploy-job',
      frequency: { interval: POLL_INTERVAL_MS, backoff: false },
      factory: async () => {
        try {
          const job = await getDeployJob(jobId, serverSettings);
          if (!poll.isDisposed) {
            dispatch({ type: 'polled', job });
          }
        } catch (err) {
          if (!poll.isDisposed) {
            dispatch({
              type: 'pollFailed',
              message: errorMessage(err),
              lost: isNotFound(err)
            });
          }
        }
      }
    });
    void poll.schedule({ interval: POLL_INTERVAL_MS, phase: 'started' });
    return () => poll.dispose();
  }, [active, jobId]);

  // Elapsed time of the running step.
  React.useEffect(() => {
    if (!active) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);

  const finished = React.useRef(false);
  React.useEffect(() => {
    if (!active && !finished.current) {
      finished.current = true;
      props.onFinished?.(state.phase === 'succeeded');
    }
  }, [active]);

  const job = state.job;
  const steps = stepViews(job, now);
  return (
    <div
      className="jp-mlops-deploy"
      data-phase={state.phase}
      data-job-id={job?.id ?? ''}
    >
      <p className="jp-mlops-deploy-intro">
        <code>{request.path}</code> → {request.target}
        {job?.model ? (
          <>
            {' '}
            · model{' '}
            <code className="jp-mlops-deploy-model">
              {job.model}/{job.version}
            </code>
          </>
        ) : null}
      </p>
      <ol className="jp-mlops-deploy-steps" aria-label="Deploy progress">
        {steps.map(step => (
          <li
            key={step.name}
            className={`jp-mlops-deploy-step jp-mlops-deploy-step-${step.state}`}
            data-step={step.name}
            data-state={step.state}
            aria-current={step.state === 'running' ? 'step' : undefined}
          >
            <span className="jp-mlops-deploy-step-glyph" aria-hidden="true">
              {STATE_GLYPH[step.state]}
            </span>
            <span className="jp-mlops-deploy-step-label">{step.label}</span>
            <span className="jp-mlops-deploy-step-state">
              {STATE_TEXT[step.state]}
              {step.seconds !== null && step.state !== 'skipped'
                ? ` · ${formatSeconds(step.seconds)}`
                : ''}
            </span>
            {step.detail ? (
              <div className="jp-mlops-deploy-step-detail" title={step.detail}>
                {step.detail}
              </div>
            ) : null}
          </li>
        ))}
      </ol>
      <div aria-live="polite">
        {state.phase === 'submitting' ? (
          <p className="jp-mlops-loading">Starting the deploy…</p>
        ) : null}
        {state.phase === 'polling' && state.pollFailures > 0 ? (
          <p className="jp-mlops-deploy-retry">
            The server did not answer; retrying ({state.pollFailures})…
          </p>
        ) : null}
      </div>
      {state.phase === 'failed' ? (
        <div className="jp-mlops-error jp-mlops-deploy-error" role="alert">
          {state.error}
        </div>
      ) : null}
      {state.phase === 'succeeded' && job?.url ? (
        <DeployResult
          url={job.url}
          curl={job.curl}
          onShow={
            props.onShowDeployment && job.deployment_id
              ? () => props.onShowDeployment!(job.deployment_id!)
              : undefined
          }
          onShowDrift={
            props.onShowDrift && job.deployment_id
              ? () => props.onShowDrift!(job.deployment_id!)
              : undefined
          }
        />
      ) : null}
    </div>
  );
}

function DeployResult(props: {
  url: string;
  curl: string | null;
  onShow?: () => void;
  onShowDrift?: () => void;
}): JSX.Element {
  return (
    <section className="jp-mlops-deploy-result" aria-label="Endpoint">
      <div className="jp-mlops-deploy-result-row">
        <span className="jp-mlops-deploy-result-label">Endpoint</span>
        <a
          className="jp-mlops-link jp-mlops-deploy-url"
          href={`${props.url}/docs`}
          target="_blank"
          rel="noopener noreferrer"
        >
          {props.url}
        </a>
        <CopyButton text={props.url} label="Copy endpoint URL" />
      </div>
      {props.curl ? (
        <>
          <div className="jp-mlops-deploy-result-row">
            <span className="jp-mlops-deploy-result-label">Try it</span>
            <CopyButton
              text={props.curl}
              label="Copy curl command"
              className="jp-mlops-copy-curl"
            />
          </div>
          <pre className="jp-mlops-deploy-curl">{props.curl}</pre>
        </>
      ) : null}
      {props.onShow ? (
        <button
          type="button"
          className="jp-mod-styled jp-mlops-deploy-show"
          onClick={props.onShow}
        >
          Show in the Deployments panel
        </button>
      ) : null}
      {props.onShowDrift ? (
        <div className="jp-mlops-deploy-result-row">
          <span className="jp-mlops-deploy-result-label">Drift</span>
          <button
            type="button"
            className="jp-mlops-link jp-mlops-deploy-drift"
            onClick={props.onShowDrift}
          >
            Monitored with the default rules: show its drift
          </button>
        </div>
      ) : null}
    </section>
  );
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** The progress view as a dialog body. */
export class DeployProgressWidget extends ReactWidget {
  constructor(private readonly _props: IDeployProgressProps) {
    super();
    this.addClass('jp-mlops-deploy-dialog-body');
  }

  protected render(): JSX.Element {
    return <DeployProgress {...this._props} />;
  }
}

/**
 * Show the deploy dialog: it submits the job at once and follows it. Closed
 * before the job ended, the job goes on on the server and its end is told in
 * a notification.
 */
export async function showDeployDialog(
  request: IDeployRequest,
  serverSettings?: ServerConnection.ISettings,
  showDeployment?: (deploymentId: string) => void,
  showDrift?: (deploymentId: string) => void
): Promise<void> {
  let dialog: Dialog<unknown> | null = null;
  let jobId: string | null = null;
  let finished = false;
  let closed = false;
  const follow = (): void => {
    if (jobId !== null && !finished) {
      void followInBackground(jobId, request.path, serverSettings, showDeployment);
    }
  };
  const body = new DeployProgressWidget({
    request,
    serverSettings,
    onJob: job => {
      jobId = job.id;
      if (closed) {
        follow();
      }
    },
    onFinished: () => {
      finished = true;
    },
    onShowDeployment: showDeployment
      ? id => {
          dialog?.resolve(0);
          showDeployment(id);
        }
      : undefined,
    onShowDrift: showDrift
      ? id => {
          dialog?.resolve(0);
          showDrift(id);
        }
      : undefined
  });
  dialog = new Dialog({
    title: `Deploy ${basename(request.path)}`,
    body,
    buttons: [Dialog.okButton({ label: 'Close' })],
    hasClose: true
  });
  dialog.addClass('jp-mlops-dialog');
  dialog.addClass('jp-mlops-deploy-dialog');
  await dialog.launch();
  closed = true;
  follow();
}

/** Milliseconds between polls of a job whose dialog was closed. */
const BACKGROUND_POLL_MS = 2000;

/**
 * Poll a deploy job until it ends, then say how it ended in a notification.
 *
 * @returns A promise that resolves once the job ended (or was lost).
 */
function followInBackground(
  jobId: string,
  path: string,
  serverSettings?: ServerConnection.ISettings,
  showDeployment?: (deploymentId: string) => void
): Promise<void> {
  let failures = 0;
  const poll = new Poll<void, unknown>({
    auto: false,
    name: 'jupyterlab-mlops:deploy-job-background',
    frequency: { interval: BACKGROUND_POLL_MS, backoff: false },
    factory: async () => {
      let job: IDeployJob;
      try {
        job = await getDeployJob(jobId, serverSettings);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (isNotFound(err) || failures >= MAX_POLL_FAILURES) {
          Notification.warning(
            `Lost track of the deploy of ${basename(path)}: ${errorMessage(err)}`,
            { autoClose: false }
          );
          poll.dispose();
        }
        return;
      }
      if (job.status === 'running') {
        return;
      }
      notifyFinished(job, path, showDeployment);
      poll.dispose();
    }
  });
  const ended = new Promise<void>(resolve => {
    poll.disposed.connect(() => resolve());
  });
  void poll.schedule({ interval: BACKGROUND_POLL_MS, phase: 'started' });
  return ended;
}

/** The notification saying how a deploy job followed in the background ended. */
function notifyFinished(
  job: IDeployJob,
  path: string,
  showDeployment?: (deploymentId: string) => void
): void {
  if (job.status === 'succeeded' && job.url) {
    const url = job.url;
    const deploymentId = job.deployment_id;
    Notification.success(`${basename(path)} deployed at ${url}`, {
      autoClose: false,
      actions: [
        { label: 'Copy URL', callback: () => Clipboard.copyToSystem(url) },
        ...(showDeployment && deploymentId
          ? [{ label: 'Show', callback: () => showDeployment(deploymentId) }]
          : [])
      ]
    });
    return;
  }
  Notification.error(
    `Deploy of ${basename(path)} failed: ${job.error ?? 'see the Deployments tab'}`,
    { autoClose: false }
  );
}

function basename(path: string): string {
  return path.split('/').pop() || path;
}
