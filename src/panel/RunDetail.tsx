import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  cancelRun,
  errorMessage,
  getRun,
  IRunDetail,
  isActive,
  materializeOutput,
  reproduceRun,
  showError,
  whyNot
} from '../api';
import { runWithParameters } from '../dialogs/RunWithParameters';
import { ComparisonView } from './ComparisonView';
import {
  basename,
  formatAbsoluteTime,
  formatBytes,
  formatDuration,
  formatMetric
} from './format';
import { KeyValueTable } from './KeyValueTable';
import { LiveOutput } from './LiveOutput';
import { StatusBadge } from './PagedList';
import { ProvenanceView } from './ProvenanceView';
import { errorLine, progressFraction, progressText } from './runFormat';
import { ITabProps } from './types';
import { useMe } from './useMe';
import { useResource } from './useResource';

/** Seconds between re-fetches while the run is queued or running. */
const LIVE_INTERVAL = 1;

export interface IRunDetailProps extends ITabProps {
  runId: string;
  /** Show another run (or the list, with null). */
  onSelect: (id: string | null) => void;
}

/**
 * A run's detail view: status with live progress, error, parameters, metrics,
 * provenance, the reproduction comparison, and Open output / Reproduce / Cancel.
 */
export function RunDetail(props: IRunDetailProps): JSX.Element {
  const { runId, serverSettings, onSelect } = props;
  const refused = whyNot(useMe(serverSettings), 'run');
  const commands = props.model?.commands ?? null;
  const resource = useResource<IRunDetail>(
    () => getRun(runId, serverSettings),
    [runId, serverSettings],
    {
      active: props.active,
      refreshToken: props.refreshToken,
      interval: run => (!run || isActive(run) ? LIVE_INTERVAL : 0)
    }
  );
  const [busy, setBusy] = React.useState<string | null>(null);
  const run = resource.value;

  const act = async (name: string, work: () => Promise<void>): Promise<void> => {
    setBusy(name);
    try {
      await work();
    } catch (err) {
      showError(err, `${name} failed`);
    } finally {
      setBusy(null);
    }
  };

  const back = (
    <button
      type="button"
      className="jp-mlops-back jp-mlops-linkbutton"
      onClick={() => onSelect(null)}
    >
      ← All runs
    </button>
  );
  if (!run) {
    return (
      <div className="jp-mlops-detail">
        {back}
        {resource.error ? (
          <div className="jp-mlops-error" role="alert">
            {errorMessage(resource.error)}
          </div>
        ) : (
          <div className="jp-mlops-loading" aria-busy="true">
            Loading run…
          </div>
        )}
      </div>
    );
  }

  const active = isActive(run);
  const fraction = progressFraction(run);
  const canReproduce = !active && run.kind === 'batch' && !!run.input_notebook_sha256;
  return (
    <div className="jp-mlops-detail jp-mlops-run-detail" data-run-id={run.id} data-status={run.status}>
      {back}
      <div className="jp-mlops-detail-header">
        <h3 className="jp-mlops-detail-title" title={run.notebook_path}>
          {basename(run.notebook_path)}
        </h3>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title="run id">
          <code>{run.id}</code>
        </span>
        <span title={formatAbsoluteTime(run.started_at)}>
          started {formatAbsoluteTime(run.started_at) || '—'}
        </span>
        <span>duration {formatDuration(run.duration_seconds)}</span>
        {run.created_by ? <span>by {run.created_by}</span> : null}
        {run.trigger && run.trigger !== 'user' ? <span>trigger: {run.trigger}</span> : null}
      </div>
      <div className="jp-mlops-row-meta jp-mlops-run-usage">
        <span title="Peak resident memory of the kernel">
          peak memory {formatBytes(run.peak_memory_bytes)}
          {run.memory_limit_bytes ? ` of ${formatBytes(run.memory_limit_bytes)}` : ''}
        </span>
        <span title="CPU time of the kernel">
          CPU {formatDuration(run.cpu_seconds)}
          {run.cpus ? ` on at most ${run.cpus} CPUs` : ''}
        </span>
      </div>
      {active && fraction !== null ? (
        <div className="jp-mlops-progress">
          <progress
            max={1}
            value={fraction}
            aria-label={`Progress: ${progressText(run)}`}
          />
          <span>{progressText(run)}</span>
        </div>
      ) : null}
      {run.status_reason ? (
        <div className="jp-mlops-muted jp-mlops-status-reason">{run.status_reason}</div>
      ) : null}
      {resource.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(resource.error)}
        </div>
      ) : null}

      <div className="jp-mlops-actions" role="toolbar" aria-label="Run actions">
        <Button
          className="jp-mlops-open-output"
          small
          disabled={!run.output_notebook_sha256 || busy !== null || !commands}
          title={
            run.output_notebook_sha256
              ? 'Open the executed notebook in the lab'
              : 'No output notebook yet'
          }
          onClick={() =>
            act('Open output', async () => {
              const path = await materializeOutput(run.id, serverSettings);
              await commands!.execute('docmanager:open', { path });
            })
          }
        >
          Open output
        </Button>
        <Button
          className="jp-mlops-reproduce"
          small
          disabled={!canReproduce || busy !== null || refused !== null}
          title={
            refused ??
            (canReproduce
              ? 'Re-run the stored input notebook with the same parameters and compare'
              : 'Only a finished batch run with a stored input notebook can be reproduced')
          }
          onClick={() =>
            act('Reproduce', async () => {
              const reproduction = await reproduceRun(run.id, serverSettings);
              onSelect(reproduction.id);
            })
          }
        >
          Reproduce
        </Button>
        <Button
          className="jp-mlops-run-again"
          small
          disabled={run.kind !== 'batch' || busy !== null}
          title="Open the run dialog with this run's parameters, to change and run them"
          onClick={() =>
            act('Run again', async () => {
              await runWithParameters({
                path: run.notebook_path,
                serverSettings,
                from: run,
                onSubmitted: next => onSelect(next.id)
              });
            })
          }
        >
          Run again…
        </Button>
        {active ? (
          <Button
            className="jp-mlops-cancel"
            small
            disabled={busy !== null || refused !== null}
            title={refused ?? 'Cancel the run'}
            onClick={() =>
              act('Cancel', async () => {
                await cancelRun(run.id, serverSettings);
                await resource.reload();
              })
            }
          >
            Cancel
          </Button>
        ) : null}
      </div>

      {run.error ? (
        <section className="jp-mlops-section" aria-label="Error">
          <h4 className="jp-mlops-subheading">Error</h4>
          <div className="jp-mlops-run-error" role="alert">
            <div>{errorLine(run.error)}</div>
          </div>
        </section>
      ) : null}

      {run.kind === 'batch' ? (
        <section className="jp-mlops-section" aria-label="Output">
          <h4 className="jp-mlops-subheading">Output</h4>
          <LiveOutput
            runId={run.id}
            running={active}
            active={props.active}
            serverSettings={serverSettings}
          />
        </section>
      ) : null}

      {run.reproduces_run_id ? (
        <section className="jp-mlops-section" aria-label="Reproduction">
          <h4 className="jp-mlops-subheading">Reproduction</h4>
          {run.comparison ? (
            <ComparisonView comparison={run.comparison} onOpenRun={id => onSelect(id)} />
          ) : (
            <p className="jp-mlops-muted">
              Reproducing{' '}
              <button
                type="button"
                className="jp-mlops-linkbutton"
                onClick={() => onSelect(run.reproduces_run_id!)}
              >
                {run.reproduces_run_id}
              </button>
              {active ? '… the comparison appears when this run ends.' : '.'}
            </p>
          )}
        </section>
      ) : null}

      <section className="jp-mlops-section" aria-label="Parameters">
        <h4 className="jp-mlops-subheading">Parameters</h4>
        <KeyValueTable
          label="Parameters"
          className="jp-mlops-parameters"
          entries={run.parameters}
          empty="No parameters injected (the notebook's defaults)."
        />
      </section>
      <section className="jp-mlops-section" aria-label="Metrics">
        <h4 className="jp-mlops-subheading">Metrics</h4>
        <KeyValueTable
          label="Metrics"
          className="jp-mlops-metrics"
          entries={run.metrics}
          empty="No metrics logged (mlops.log_metric)."
          format={value => formatMetric(value)}
        />
      </section>
      {run.logged_params && Object.keys(run.logged_params).length ? (
        <section className="jp-mlops-section" aria-label="Logged parameters">
          <h4 className="jp-mlops-subheading">Logged parameters</h4>
          <KeyValueTable label="Logged parameters" entries={run.logged_params} />
        </section>
      ) : null}
      {run.artifacts && run.artifacts.length ? (
        <section className="jp-mlops-section" aria-label="Artifacts">
          <h4 className="jp-mlops-subheading">Artifacts</h4>
          <KeyValueTable
            label="Artifacts"
            entries={Object.fromEntries(
              run.artifacts.map(a => [a.name, `${a.kind} · ${a.size} B · ${a.sha256.slice(0, 12)}`])
            )}
            format={value => String(value)}
          />
        </section>
      ) : null}
      <section className="jp-mlops-section" aria-label="Provenance">
        <h4 className="jp-mlops-subheading">Provenance</h4>
        <ProvenanceView provenance={run.provenance} />
      </section>
    </div>
  );
}
