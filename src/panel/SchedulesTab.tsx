import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  deleteSchedule,
  ISchedule,
  listSchedules,
  setScheduleActive,
  showError,
  triggerSchedule,
  whyNot
} from '../api';
import { CommandIDs } from '../commandIds';
import { editSchedule } from '../dialogs/ScheduleDialog';
import { showRunInPanel } from '../views/runLinks';
import { basename, formatAbsoluteTime, formatUntil } from './format';
import { PagedList, StatusBadge } from './PagedList';
import { ITabProps } from './types';
import { useMe } from './useMe';
import { usePaged } from './usePaged';

export function SchedulesEmptyState(): JSX.Element {
  return (
    <p>
      No schedules yet. Open a notebook, click 'Run with parameters' in its
      toolbar and choose 'Schedule…', or run{' '}
      <code>%mlops schedule train.ipynb "0 6 * * *"</code> /{' '}
      <code>jupyter mlops schedules create</code>.
    </p>
  );
}

/** The things a schedule row can do. */
type ScheduleAction = 'toggle' | 'trigger' | 'edit' | 'delete' | 'history';

/**
 * The Schedules tab: every schedule with its cron in words (the server's
 * `description`, zone included), next fire, last status, and pause/resume,
 * run now, edit, delete; its history opens in a main-area tab.
 */
export function SchedulesTab(props: ITabProps): JSX.Element {
  const { serverSettings } = props;
  const commands = props.model?.commands ?? null;
  const selected = props.model?.selection.schedules ?? null;
  const paged = usePaged<ISchedule>(query => listSchedules(query, serverSettings), props);
  const me = useMe(serverSettings);
  const [busy, setBusy] = React.useState<string | null>(null);

  const act = async (schedule: ISchedule, action: ScheduleAction): Promise<void> => {
    if (action === 'history') {
      await commands?.execute(CommandIDs.openSchedule, { id: schedule.id });
      return;
    }
    setBusy(schedule.id);
    try {
      if (action === 'toggle') {
        await setScheduleActive(schedule.id, !schedule.active, serverSettings);
      } else if (action === 'trigger') {
        const fire = await triggerSchedule(schedule.id, serverSettings);
        if (fire.status === 'submitted' && fire.run_id) {
          const runId = fire.run_id;
          Notification.success(`Run ${runId} of "${schedule.name}" started.`, {
            autoClose: 10000,
            actions: commands
              ? [{ label: 'Open run', callback: () => void showRunInPanel(commands, runId) }]
              : []
          });
        } else {
          Notification.info(
            `"${schedule.name}": ${fire.status}${fire.reason ? ` (${fire.reason})` : ''}.`,
            { autoClose: 5000 }
          );
        }
      } else if (action === 'edit') {
        if (!(await editSchedule(schedule, serverSettings))) {
          return;
        }
      } else if (action === 'delete') {
        const answer = await showDialog({
          title: 'Delete schedule',
          body: `Delete the schedule "${schedule.name}" (${schedule.description})? The runs it started stay.`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
        });
        if (!answer.button.accept) {
          return;
        }
        await deleteSchedule(schedule.id, serverSettings);
      }
      paged.reload();
    } catch (err) {
      showError(err, `${ACTION_LABELS[action]} "${schedule.name}" failed`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="jp-mlops-schedules">
      <PagedList
        paged={paged}
        label="Schedules"
        emptyState={<SchedulesEmptyState />}
        itemKey={schedule => schedule.id}
        renderItem={schedule => (
          <ScheduleRow
            schedule={schedule}
            selected={schedule.id === selected}
            busy={busy === schedule.id}
            canOpen={commands !== null}
            refusedChange={whyNot(me, 'schedule')}
            refusedRun={whyNot(me, 'run')}
            onAction={action => void act(schedule, action)}
          />
        )}
      />
    </div>
  );
}

const ACTION_LABELS: Record<ScheduleAction, string> = {
  toggle: 'Pausing or resuming',
  trigger: 'Running',
  edit: 'Editing',
  delete: 'Deleting',
  history: 'Opening'
};

export interface IScheduleRowProps {
  schedule: ISchedule;
  /** Just created or asked for (`mlops:open-panel {tab: 'schedules', id}`). */
  selected: boolean;
  busy: boolean;
  /** The app's commands are there (the history opens in the main area). */
  canOpen: boolean;
  /** Why the user may not change schedules / start runs (their role), or null. */
  refusedChange?: string | null;
  refusedRun?: string | null;
  onAction: (action: ScheduleAction) => void;
}

/** One schedule: what, when in words, next fire, last status, and its actions. */
export function ScheduleRow(props: IScheduleRowProps): JSX.Element {
  const { schedule, selected, busy, canOpen, onAction } = props;
  const refusedChange = props.refusedChange ?? null;
  const refusedRun = props.refusedRun ?? null;
  const ref = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (selected) {
      ref.current?.scrollIntoView?.({ block: 'nearest' });
    }
  }, [selected]);
  const next = schedule.next_fire_at;
  return (
    <div
      ref={ref}
      className={`jp-mlops-row jp-mlops-schedule${selected ? ' jp-mod-selected' : ''}`}
      data-schedule-id={schedule.id}
      data-active={schedule.active}
    >
      <div className="jp-mlops-row-main">
        <button
          type="button"
          className="jp-mlops-row-title jp-mlops-row-open jp-mlops-schedule-name"
          title={`Show the history of ${schedule.name}`}
          disabled={!canOpen}
          onClick={() => onAction('history')}
        >
          {schedule.name}
        </button>
        {schedule.active ? null : <span className="jp-mlops-schedule-paused">paused</span>}
        {schedule.last_status ? (
          <span className="jp-mlops-schedule-last" title="Status of the last run it started">
            <StatusBadge status={schedule.last_status} />
          </span>
        ) : null}
      </div>
      <div className="jp-mlops-row-meta">
        <span className="jp-mlops-schedule-target" title={schedule.target_path}>
          {schedule.target_kind === 'pipeline' ? 'pipeline ' : ''}
          {basename(schedule.target_path)}
        </span>
        <span className="jp-mlops-schedule-description" title={schedule.cron}>
          {schedule.description}
        </span>
      </div>
      <div className="jp-mlops-row-meta">
        <span
          className="jp-mlops-schedule-next"
          title={next ? `${formatAbsoluteTime(next)} (${next})` : undefined}
        >
          {next
            ? `next run ${formatUntil(next)}`
            : schedule.active
              ? 'no next run (ended)'
              : 'paused: no next run'}
        </span>
        {schedule.last_fire_at ? (
          <span title={formatAbsoluteTime(schedule.last_fire_at)}>
            last fired {formatAbsoluteTime(schedule.last_fire_at)}
          </span>
        ) : null}
      </div>
      <div className="jp-mlops-actions" role="toolbar" aria-label={`Schedule ${schedule.name}`}>
        <Button
          small
          className="jp-mlops-schedule-toggle"
          disabled={busy || refusedChange !== null}
          title={refusedChange ?? undefined}
          onClick={() => onAction('toggle')}
        >
          {schedule.active ? 'Pause' : 'Resume'}
        </Button>
        <Button
          small
          className="jp-mlops-schedule-trigger"
          disabled={busy || refusedRun !== null}
          title={refusedRun ?? 'Start a run now (paused or not)'}
          onClick={() => onAction('trigger')}
        >
          Run now
        </Button>
        <Button
          small
          minimal
          className="jp-mlops-schedule-history"
          disabled={!canOpen}
          title="Its fires and runs, in a main-area tab"
          onClick={() => onAction('history')}
        >
          History
        </Button>
        <Button
          small
          minimal
          className="jp-mlops-schedule-edit"
          disabled={busy || refusedChange !== null}
          title={refusedChange ?? undefined}
          onClick={() => onAction('edit')}
        >
          Edit
        </Button>
        <Button
          small
          minimal
          className="jp-mlops-schedule-delete"
          disabled={busy || refusedChange !== null}
          title={refusedChange ?? undefined}
          onClick={() => onAction('delete')}
        >
          Delete
        </Button>
      </div>
    </div>
  );
}
