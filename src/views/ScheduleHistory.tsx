import { Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorMessage,
  getSchedule,
  IRun,
  ISchedule,
  IScheduleFire,
  isActive,
  listScheduleFires,
  listScheduleRuns,
  setScheduleActive,
  showError,
  triggerSchedule
} from '../api';
import { CommandIDs } from '../commandIds';
import {
  formatAbsoluteTime,
  formatDuration,
  formatRelativeTime,
  formatUntil
} from '../panel/format';
import { PagedList, StatusBadge } from '../panel/PagedList';
import { errorLine } from '../panel/runFormat';
import { usePaged } from '../panel/usePaged';
import { useResource } from '../panel/useResource';
import { ICommands, openRunOutput, showRunInPanel } from './runLinks';

/** Seconds between re-fetches of the schedule and its history. */
export const HISTORY_INTERVAL = 5;

/** Seconds between re-fetches while one of its runs is queued or running. */
export const HISTORY_LIVE_INTERVAL = 2;

export interface IScheduleHistoryProps {
  scheduleId: string;
  serverSettings: ServerConnection.ISettings;
  /** Opens runs and output notebooks; null (tests): those buttons are disabled. */
  commands: ICommands | null;
  /** The view is on screen: polls only then. */
  active: boolean;
  /** Told the schedule's name once known (the main-area tab's label). */
  onTitle?: (label: string) => void;
}

/**
 * One schedule's history, as a main-area tab: the schedule (cron in words,
 * next fire, pause/resume, run now), its fire times (submitted, skipped,
 * failed, manual) and the runs it started, each with links to the run in the
 * Runs tab and to its output notebook.
 */
export function ScheduleHistoryView(props: IScheduleHistoryProps): JSX.Element {
  const { scheduleId, serverSettings, commands, active } = props;
  const [token, setToken] = React.useState(0);
  const [live, setLive] = React.useState(false);
  const interval = live ? HISTORY_LIVE_INTERVAL : HISTORY_INTERVAL;
  const resource = useResource<ISchedule>(
    () => getSchedule(scheduleId, serverSettings),
    [scheduleId, serverSettings],
    { active, interval: () => interval, refreshToken: token }
  );
  const listOptions = { active, refreshInterval: interval, refreshToken: token, limit: 20 };
  const fires = usePaged<IScheduleFire>(
    query => listScheduleFires(scheduleId, query, serverSettings),
    listOptions
  );
  const runs = usePaged<IRun>(
    query => listScheduleRuns(scheduleId, query, serverSettings),
    listOptions
  );
  const runItems = runs.page?.items;
  React.useEffect(() => {
    setLive(Boolean(runItems?.some(isActive)));
  }, [runItems]);
  const [busy, setBusy] = React.useState(false);
  const schedule = resource.value;
  const name = schedule?.name;
  React.useEffect(() => {
    if (name) {
      props.onTitle?.(name);
    }
  }, [name]);

  const act = async (name: string, work: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    try {
      await work();
      setToken(t => t + 1);
    } catch (err) {
      showError(err, `${name} failed`);
    } finally {
      setBusy(false);
    }
  };

  if (!schedule) {
    return (
      <div className="jp-mlops-view jp-mlops-schedule-view" data-schedule-id={scheduleId}>
        {resource.error ? (
          <div className="jp-mlops-error" role="alert">
            {errorMessage(resource.error)}
          </div>
        ) : (
          <div className="jp-mlops-loading" aria-busy="true">
            Loading schedule…
          </div>
        )}
      </div>
    );
  }

  const next = schedule.next_fire_at;
  return (
    <div
      className="jp-mlops-view jp-mlops-schedule-view"
      data-schedule-id={schedule.id}
      data-active={schedule.active}
    >
      <div className="jp-mlops-detail-header">
        <h2 className="jp-mlops-detail-title">{schedule.name}</h2>
        {schedule.active ? null : <span className="jp-mlops-schedule-paused">paused</span>}
        {schedule.last_status ? <StatusBadge status={schedule.last_status} /> : null}
      </div>
      <div className="jp-mlops-row-meta">
        <span className="jp-mlops-schedule-description">{schedule.description}</span>
        <code title="cron">{schedule.cron}</code>
        <span title={schedule.target_path}>
          {schedule.target_kind} <code>{schedule.target_path}</code>
        </span>
      </div>
      <div className="jp-mlops-row-meta">
        <span className="jp-mlops-schedule-next" title={next ?? undefined}>
          {next
            ? `next run ${formatAbsoluteTime(next)} (${formatUntil(next)})`
            : schedule.active
              ? 'no next run (ended)'
              : 'paused: no next run'}
        </span>
        <span>
          overlap: {schedule.overlap} · catch-up: {schedule.catch_up}
        </span>
        {Object.keys(schedule.parameters).length ? (
          <span title="parameters">
            <code>{JSON.stringify(schedule.parameters)}</code>
          </span>
        ) : null}
      </div>
      <div className="jp-mlops-actions" role="toolbar" aria-label="Schedule actions">
        <Button
          small
          className="jp-mlops-schedule-toggle"
          disabled={busy}
          onClick={() =>
            act(schedule.active ? 'Pause' : 'Resume', () =>
              setScheduleActive(schedule.id, !schedule.active, serverSettings)
            )
          }
        >
          {schedule.active ? 'Pause' : 'Resume'}
        </Button>
        <Button
          small
          className="jp-mlops-schedule-trigger"
          disabled={busy}
          onClick={() =>
            act('Run now', async () => {
              const fire = await triggerSchedule(schedule.id, serverSettings);
              if (fire.status !== 'submitted') {
                Notification.info(
                  `"${schedule.name}": ${fire.status}${fire.reason ? ` (${fire.reason})` : ''}.`,
                  { autoClose: 5000 }
                );
              }
            })
          }
        >
          Run now
        </Button>
      </div>
      {resource.error ? (
        <div className="jp-mlops-error" role="alert">
          {errorMessage(resource.error)}
        </div>
      ) : null}

      <section className="jp-mlops-section jp-mlops-history-runs" aria-label="Runs">
        <h3 className="jp-mlops-subheading">Runs</h3>
        <PagedList
          paged={runs}
          label="Runs"
          emptyState={<p>No runs yet: the first starts at the next fire time, or with Run now.</p>}
          itemKey={run => run.id}
          renderItem={run => (
            <HistoryRunRow
              run={run}
              commands={commands}
              onOutput={id =>
                act('Open output', () => openRunOutput(commands!, id, serverSettings))
              }
            />
          )}
        />
      </section>
      <section className="jp-mlops-section jp-mlops-history-fires" aria-label="Fires">
        <h3 className="jp-mlops-subheading">Fire times</h3>
        <PagedList
          paged={fires}
          label="Fires"
          emptyState={<p>It has not fired yet.</p>}
          itemKey={fire => `${fire.fire_time}-${fire.manual}`}
          renderItem={fire => <FireRow fire={fire} commands={commands} />}
        />
      </section>
    </div>
  );
}

function HistoryRunRow(props: {
  run: IRun;
  commands: ICommands | null;
  onOutput: (runId: string) => void;
}): JSX.Element {
  const { run, commands, onOutput } = props;
  return (
    <div className="jp-mlops-row jp-mlops-history-run" data-run-id={run.id} data-status={run.status}>
      <div className="jp-mlops-row-main">
        <code className="jp-mlops-row-title">{run.id}</code>
        <StatusBadge status={run.status} />
      </div>
      <div className="jp-mlops-row-meta">
        <span title={formatAbsoluteTime(run.created_at)}>
          {formatRelativeTime(run.started_at ?? run.created_at)}
        </span>
        <span title="duration">{formatDuration(run.duration_seconds)}</span>
        {run.trigger ? <span>trigger: {run.trigger}</span> : null}
        <button
          type="button"
          className="jp-mlops-linkbutton jp-mlops-history-show-run"
          disabled={!commands}
          onClick={() => void showRunInPanel(commands!, run.id)}
        >
          Show in Runs tab
        </button>
        <button
          type="button"
          className="jp-mlops-linkbutton jp-mlops-history-open-output"
          disabled={!commands || !run.output_notebook_sha256}
          title={run.output_notebook_sha256 ? 'Open the executed notebook' : 'No output notebook yet'}
          onClick={() => onOutput(run.id)}
        >
          Open output
        </button>
      </div>
      {run.error ? <div className="jp-mlops-row-error">{errorLine(run.error)}</div> : null}
    </div>
  );
}

function FireRow(props: { fire: IScheduleFire; commands: ICommands | null }): JSX.Element {
  const { fire, commands } = props;
  return (
    <div className="jp-mlops-row jp-mlops-history-fire" data-status={fire.status}>
      <div className="jp-mlops-row-main">
        <span className="jp-mlops-row-title" title={fire.fire_time}>
          {formatAbsoluteTime(fire.fire_time)}
        </span>
        <StatusBadge status={fire.status} />
        <span className="jp-mlops-muted">{fire.manual ? 'run now' : 'scheduled'}</span>
      </div>
      <div className="jp-mlops-row-meta">
        {fire.reason ? <span className="jp-mlops-history-reason">{fire.reason}</span> : null}
        {fire.run_id ? (
          <button
            type="button"
            className="jp-mlops-linkbutton"
            disabled={!commands}
            onClick={() => void showRunInPanel(commands!, fire.run_id!)}
          >
            run {fire.run_id}
          </button>
        ) : null}
        {fire.pipeline_run_id ? (
          <button
            type="button"
            className="jp-mlops-linkbutton"
            disabled={!commands}
            onClick={() =>
              void commands!.execute(CommandIDs.openPipelineRun, { id: fire.pipeline_run_id! })
            }
          >
            pipeline run {fire.pipeline_run_id}
          </button>
        ) : null}
      </div>
    </div>
  );
}
