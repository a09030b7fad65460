import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorMessage,
  IPipelineRun,
  isPipelineActive,
  isPipelinePath,
  listPipelineRuns,
  PIPELINE_SUFFIX,
  startPipelineRun
} from '../api';
import { CommandIDs } from '../commandIds';
import { pipelineTitle, stepCounts } from '../views/pipelineFormat';
import { basename, formatAbsoluteTime, formatRelativeTime } from './format';
import { PagedList, StatusBadge } from './PagedList';
import { LIVE_INTERVAL } from './RunsTab';
import { ITabProps } from './types';
import { usePaged } from './usePaged';

export function PipelinesEmptyState(): JSX.Element {
  return (
    <p>
      No pipeline runs yet. Right-click a <code>*{PIPELINE_SUFFIX}</code> file in
      the file browser and choose 'Run pipeline', use 'Run pipeline…' above, or
      run <code>%mlops pipeline run train{PIPELINE_SUFFIX}</code>.
    </p>
  );
}

/**
 * The Pipelines tab: "Run pipeline…" (a `*.pipeline.yaml` path) and the recent
 * pipeline runs, polled fast while one is active; each opens its DAG in a
 * main-area tab (`mlops:open-pipeline-run`).
 */
export function PipelinesTab(props: ITabProps): JSX.Element {
  const { serverSettings } = props;
  const commands = props.model?.commands ?? null;
  const [live, setLive] = React.useState(false);
  const paged = usePaged<IPipelineRun>(query => listPipelineRuns(query, serverSettings), {
    ...props,
    refreshInterval: live ? LIVE_INTERVAL : props.refreshInterval
  });
  const items = paged.page?.items;
  React.useEffect(() => {
    setLive(Boolean(items?.some(isPipelineActive)));
  }, [items]);

  const open = (id: string): void => {
    void commands?.execute(CommandIDs.openPipelineRun, { id });
  };

  return (
    <div className="jp-mlops-pipelines">
      <RunPipelineForm
        {...props}
        onStarted={run => {
          paged.reload();
          open(run.id);
        }}
      />
      <PagedList
        paged={paged}
        label="Pipeline runs"
        emptyState={<PipelinesEmptyState />}
        itemKey={run => run.id}
        renderItem={run => (
          <PipelineRunRow run={run} canOpen={commands !== null} onOpen={() => open(run.id)} />
        )}
      />
    </div>
  );
}

/** "Run pipeline…": a path field (filled from the file browser or typed) and Run. */
function RunPipelineForm(
  props: ITabProps & { onStarted: (run: IPipelineRun) => void }
): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const [path, setPath] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const submit = async (): Promise<void> => {
    const trimmed = path.trim().replace(/^\/+/, '');
    if (!isPipelinePath(trimmed)) {
      setError(`pipeline_path: expected a *${PIPELINE_SUFFIX} file, got ${JSON.stringify(path)}`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const run = await startPipelineRun({ pipeline_path: trimmed }, props.serverSettings);
      setOpen(false);
      setPath('');
      props.onStarted(run);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (!open) {
    return (
      <div className="jp-mlops-actions">
        <Button small className="jp-mlops-run-pipeline" onClick={() => setOpen(true)}>
          Run pipeline…
        </Button>
      </div>
    );
  }
  return (
    <form
      className="jp-mlops-run-pipeline-form"
      aria-label="Run pipeline"
      onSubmit={event => {
        event.preventDefault();
        void submit();
      }}
    >
      <label className="jp-mlops-param-label" htmlFor="jp-mlops-pipeline-path">
        Pipeline file (relative to the server root)
      </label>
      <input
        id="jp-mlops-pipeline-path"
        type="text"
        className="jp-mlops-param-input jp-mod-styled"
        placeholder={`train${PIPELINE_SUFFIX}`}
        spellCheck={false}
        value={path}
        autoFocus
        aria-invalid={error ? true : undefined}
        onChange={event => setPath(event.target.value)}
      />
      <div className="jp-mlops-actions">
        <Button small type="submit" className="jp-mlops-run-pipeline-submit" disabled={busy}>
          Run
        </Button>
        <Button
          small
          minimal
          className="jp-mlops-run-pipeline-cancel"
          disabled={busy}
          onClick={() => {
            setOpen(false);
            setError(null);
          }}
        >
          Cancel
        </Button>
      </div>
      {error ? (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}

/** One pipeline run: name, status, attempt, its steps' states, when. */
export function PipelineRunRow(props: {
  run: IPipelineRun;
  canOpen: boolean;
  onOpen: () => void;
}): JSX.Element {
  const { run, canOpen, onOpen } = props;
  return (
    <div
      className="jp-mlops-row jp-mlops-pipeline-run"
      data-pipeline-run-id={run.id}
      data-status={run.status}
    >
      <div className="jp-mlops-row-main">
        <button
          type="button"
          className="jp-mlops-row-title jp-mlops-row-open"
          title={`Show the steps of ${run.pipeline_path}`}
          disabled={!canOpen}
          onClick={onOpen}
        >
          {pipelineTitle(run)}
        </button>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title={run.pipeline_path}>{basename(run.pipeline_path)}</span>
        <span className="jp-mlops-pipeline-attempt">attempt {run.attempt}</span>
        <span className="jp-mlops-pipeline-steps">{stepCounts(run)}</span>
      </div>
      <div className="jp-mlops-row-meta">
        <span title={formatAbsoluteTime(run.created_at)}>
          {formatRelativeTime(run.created_at)}
        </span>
        {run.trigger && run.trigger !== 'user' ? <span>trigger: {run.trigger}</span> : null}
      </div>
      {run.error ? <div className="jp-mlops-row-error">{run.error}</div> : null}
    </div>
  );
}
