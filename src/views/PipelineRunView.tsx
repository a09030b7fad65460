import { ServerConnection } from '@jupyterlab/services';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  cancelPipelineRun,
  canRepair,
  errorMessage,
  getPipelineRun,
  IPipelineRun,
  IPipelineStep,
  isPipelineActive,
  repairPipelineRun,
  showError
} from '../api';
import { basename, formatAbsoluteTime, formatDuration } from '../panel/format';
import { StatusBadge } from '../panel/PagedList';
import { useResource } from '../panel/useResource';
import { DEFAULT_DAG_BOX, IDagNode, layoutDag } from './dagLayout';
import { pipelineTitle, stepAttempts, stepCounts } from './pipelineFormat';
import { ICommands, openRunOutput, showRunInPanel } from './runLinks';

/** Seconds between re-fetches while the pipeline run is pending or running. */
export const PIPELINE_LIVE_INTERVAL = 2;

export interface IPipelineRunViewProps {
  runId: string;
  serverSettings: ServerConnection.ISettings;
  /** Opens runs and output notebooks; null (tests): the step buttons are disabled. */
  commands: ICommands | null;
  /** The view is on screen: polls only then. */
  active: boolean;
  /** Told the pipeline's name once known (the main-area tab's label). */
  onTitle?: (label: string) => void;
}

/**
 * A pipeline run: its DAG (a box per step, coloured by status, with attempt,
 * tries and a "reused" badge; click a step's buttons for its output notebook or
 * its run), Cancel while active, Repair once failed or cancelled, and the steps'
 * errors. Polls while the run is active.
 */
export function PipelineRunView(props: IPipelineRunViewProps): JSX.Element {
  const { runId, serverSettings, commands } = props;
  const resource = useResource<IPipelineRun>(
    () => getPipelineRun(runId, serverSettings),
    [runId, serverSettings],
    {
      active: props.active,
      interval: run => (!run || isPipelineActive(run) ? PIPELINE_LIVE_INTERVAL : 0)
    }
  );
  const [busy, setBusy] = React.useState<string | null>(null);
  const run = resource.value;
  const title = run ? pipelineTitle(run) : null;
  React.useEffect(() => {
    if (title) {
      props.onTitle?.(title);
    }
  }, [title]);

  const act = async (name: string, work: () => Promise<unknown>): Promise<void> => {
    setBusy(name);
    try {
      await work();
      await resource.reload();
    } catch (err) {
      showError(err, `${name} failed`);
    } finally {
      setBusy(null);
    }
  };

  if (!run) {
    return (
      <div className="jp-mlops-view jp-mlops-pipeline-view" data-pipeline-run-id={runId}>
        {resource.error ? (
          <div className="jp-mlops-error" role="alert">
            {errorMessage(resource.error)}
          </div>
        ) : (
          <div className="jp-mlops-loading" aria-busy="true">
            Loading pipeline run…
          </div>
        )}
      </div>
    );
  }

  const active = isPipelineActive(run);
  const failedSteps = run.steps.filter(step => step.error);
  return (
    <div
      className="jp-mlops-view jp-mlops-pipeline-view"
      data-pipeline-run-id={run.id}
      data-status={run.status}
      data-attempt={run.attempt}
    >
      <div className="jp-mlops-detail-header">
        <h2 className="jp-mlops-detail-title" title={run.pipeline_path}>
          {pipelineTitle(run)}
        </h2>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title="pipeline file">
          <code>{run.pipeline_path}</code>
        </span>
        <span className="jp-mlops-pipeline-attempt">attempt {run.attempt}</span>
        <span className="jp-mlops-pipeline-steps">{stepCounts(run)}</span>
        <span title={formatAbsoluteTime(run.created_at)}>
          started {formatAbsoluteTime(run.created_at) || '—'}
        </span>
        {run.finished_at ? <span>finished {formatAbsoluteTime(run.finished_at)}</span> : null}
        {run.trigger && run.trigger !== 'user' ? <span>trigger: {run.trigger}</span> : null}
        <span title="pipeline run id">
          <code>{run.id}</code>
        </span>
      </div>
      <div className="jp-mlops-actions" role="toolbar" aria-label="Pipeline run actions">
        {active ? (
          <Button
            small
            className="jp-mlops-pipeline-cancel"
            disabled={busy !== null}
            onClick={() => act('Cancel', () => cancelPipelineRun(run.id, serverSettings))}
          >
            Cancel
          </Button>
        ) : null}
        {canRepair(run) ? (
          <Button
            small
            className="jp-mlops-pipeline-repair"
            disabled={busy !== null}
            title="Re-run the failed and cancelled steps and everything downstream, reusing the others' outputs"
            onClick={() => act('Repair', () => repairPipelineRun(run.id, serverSettings))}
          >
            Repair
          </Button>
        ) : null}
        <Button
          small
          minimal
          className="jp-mlops-pipeline-refresh"
          disabled={busy !== null}
          onClick={() => void resource.reload()}
        >
          Refresh
        </Button>
      </div>
      {run.error ? (
        <div className="jp-mlops-run-error" role="alert">
          {run.error}
        </div>
      ) : null}
      {resource.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(resource.error)}
        </div>
      ) : null}
      <PipelineDag
        steps={run.steps}
        onOutput={
          commands
            ? step => act('Open output', () => openRunOutput(commands, step.run_id!, serverSettings))
            : null
        }
        onRun={commands ? step => void showRunInPanel(commands, step.run_id!) : null}
      />
      {failedSteps.length ? (
        <section className="jp-mlops-section" aria-label="Step errors">
          <h3 className="jp-mlops-subheading">Errors</h3>
          <ul className="jp-mlops-pipeline-errors">
            {failedSteps.map(step => (
              <li key={step.name} data-step={step.name}>
                <strong>{step.name}</strong>: {step.error}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export interface IPipelineDagProps {
  steps: IPipelineStep[];
  /** Open the step's output notebook; null: not offered. */
  onOutput: ((step: IPipelineStep) => void) | null;
  /** Show the step's run in the Runs tab; null: not offered. */
  onRun: ((step: IPipelineStep) => void) | null;
}

/** The DAG: SVG edges under absolutely placed step boxes. */
export function PipelineDag(props: IPipelineDagProps): JSX.Element {
  const { steps, onOutput, onRun } = props;
  const layout = React.useMemo(() => layoutDag(steps, DEFAULT_DAG_BOX), [steps]);
  const statusOf = new Map(steps.map(step => [step.name, step.status]));
  // One arrowhead per drawing: several views may be open at once.
  const arrow = `jp-mlops-dag-arrow-${React.useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  return (
    <div
      className="jp-mlops-dag"
      role="group"
      aria-label={`Pipeline steps: ${steps.length}`}
      style={{ width: layout.width, height: layout.height }}
    >
      <svg
        className="jp-mlops-dag-edges"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        aria-hidden="true"
      >
        <defs>
          <marker
            id={arrow}
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" className="jp-mlops-dag-arrowhead" />
          </marker>
        </defs>
        {layout.edges.map(edge => (
          <line
            key={`${edge.from}->${edge.to}`}
            className={`jp-mlops-dag-edge jp-mlops-dag-edge-${statusOf.get(edge.from) ?? 'pending'}`}
            data-from={edge.from}
            data-to={edge.to}
            x1={edge.x1}
            y1={edge.y1}
            x2={edge.x2}
            y2={edge.y2}
            markerEnd={`url(#${arrow})`}
          />
        ))}
      </svg>
      {layout.nodes.map(node => (
        <StepBox key={node.step.name} node={node} onOutput={onOutput} onRun={onRun} />
      ))}
    </div>
  );
}

function StepBox(props: {
  node: IDagNode<IPipelineStep>;
  onOutput: IPipelineDagProps['onOutput'];
  onRun: IPipelineDagProps['onRun'];
}): JSX.Element {
  const { node, onOutput, onRun } = props;
  const step = node.step;
  const duration =
    step.started_at && step.finished_at
      ? (Date.parse(step.finished_at) - Date.parse(step.started_at)) / 1000
      : null;
  const title = [
    `${step.name}: ${step.notebook}`,
    `status ${step.status}`,
    step.run_id ? `run ${step.run_id}` : 'not started',
    step.depends_on.length ? `after ${step.depends_on.join(', ')}` : '',
    step.previous_runs.length ? `earlier runs: ${step.previous_runs.join(', ')}` : '',
    step.error ?? ''
  ]
    .filter(Boolean)
    .join('\n');
  return (
    <div
      className={`jp-mlops-dag-node jp-mlops-dag-node-${step.status}`}
      data-step={step.name}
      data-status={step.status}
      data-reused={step.reused}
      data-run-id={step.run_id ?? undefined}
      style={{ left: node.x, top: node.y, width: node.width, height: node.height }}
      title={title}
      role="group"
      aria-label={`Step ${step.name}: ${step.status}`}
    >
      <div className="jp-mlops-dag-node-header">
        <span className="jp-mlops-dag-node-name">{step.name}</span>
        <StatusBadge status={step.status} />
      </div>
      <div className="jp-mlops-dag-node-meta">
        <span className="jp-mlops-dag-node-notebook">{basename(step.notebook)}</span>
        {step.reused ? (
          <span className="jp-mlops-dag-reused" title="Succeeded in an earlier attempt; its outputs were reused">
            reused
          </span>
        ) : null}
      </div>
      <div className="jp-mlops-dag-node-meta">
        <span className="jp-mlops-dag-node-attempts">{stepAttempts(step)}</span>
        {duration !== null && Number.isFinite(duration) ? (
          <span>{formatDuration(duration)}</span>
        ) : null}
      </div>
      <div className="jp-mlops-dag-node-actions">
        <button
          type="button"
          className="jp-mlops-linkbutton jp-mlops-dag-open-output"
          disabled={!step.run_id || !onOutput}
          title="Open the step's executed notebook"
          onClick={() => onOutput?.(step)}
        >
          Output
        </button>
        <button
          type="button"
          className="jp-mlops-linkbutton jp-mlops-dag-open-run"
          disabled={!step.run_id || !onRun}
          title="Show the step's run in the Runs tab"
          onClick={() => onRun?.(step)}
        >
          Run
        </button>
      </div>
    </div>
  );
}
