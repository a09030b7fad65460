import * as React from 'react';

import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from '../api';
import {
  browserTimezone,
  CRON_EXAMPLES,
  CRON_FIELD_NAMES,
  IScheduleFormState,
  ScheduleField
} from './scheduleForm';

const OVERLAP_LABELS: Record<string, string> = {
  skip: 'Skip the fire while the previous run is still active',
  queue: 'Queue a run anyway'
};

const CATCH_UP_LABELS: Record<string, string> = {
  none: 'Nothing: only future fire times',
  latest: 'One run for the most recent missed time'
};

export interface IScheduleFieldsProps {
  /** What the fields start with (they keep what is typed themselves). */
  initial: IScheduleFormState;
  /** Errors per field (the checks before sending, or the server's 400). */
  errors: Partial<Record<ScheduleField, string>>;
  onChange: (state: IScheduleFormState) => void;
  /** Shown as the name's placeholder (the server's default name). */
  defaultName?: string;
}

/**
 * When and how a schedule runs: name, cron (5 fields, with a choice of
 * examples), time zone (an IANA name, the setting's or the browser's to start
 * with), overlap and catch-up policies. Plain inputs and selects only (no
 * datalist pop-ups over the dialog's buttons).
 */
export function ScheduleFields(props: IScheduleFieldsProps): JSX.Element {
  const { errors, onChange, defaultName } = props;
  const [state, setState] = React.useState<IScheduleFormState>(props.initial);
  const browserZone = React.useMemo(() => browserTimezone(), []);
  const set = (patch: Partial<IScheduleFormState>): void => {
    setState(previous => {
      const next = { ...previous, ...patch };
      onChange(next);
      return next;
    });
  };

  return (
    <fieldset className="jp-mlops-schedule-fields">
      <legend>Schedule</legend>
      <Field id="jp-mlops-schedule-cron" label="Cron (5 fields)" error={errors.cron}>
        <input
          id="jp-mlops-schedule-cron"
          type="text"
          className="jp-mlops-param-input jp-mod-styled"
          placeholder="0 6 * * *"
          spellCheck={false}
          autoComplete="off"
          value={state.cron}
          aria-invalid={errors.cron ? true : undefined}
          aria-describedby="jp-mlops-schedule-cron-help"
          onChange={event => set({ cron: event.target.value })}
        />
        <select
          id="jp-mlops-schedule-cron-example"
          className="jp-mlops-schedule-cron-example jp-mod-styled"
          aria-label="Cron examples"
          value=""
          onChange={event => {
            if (event.target.value) {
              set({ cron: event.target.value });
            }
          }}
        >
          <option value="">Examples…</option>
          {CRON_EXAMPLES.map(example => (
            <option key={example.cron} value={example.cron}>
              {example.cron} — {example.label}
            </option>
          ))}
        </select>
        <div id="jp-mlops-schedule-cron-help" className="jp-mlops-param-help">
          {CRON_FIELD_NAMES.join(' · ')}, e.g. <code>0 6 * * *</code> = every day at
          06:00. The server shows it in words once created.
        </div>
      </Field>
      <Field id="jp-mlops-schedule-timezone" label="Time zone" error={errors.timezone}>
        <input
          id="jp-mlops-schedule-timezone"
          type="text"
          className="jp-mlops-param-input jp-mod-styled"
          spellCheck={false}
          autoComplete="off"
          value={state.timezone}
          aria-invalid={errors.timezone ? true : undefined}
          aria-describedby="jp-mlops-schedule-timezone-help"
          onChange={event => set({ timezone: event.target.value })}
        />
        <div id="jp-mlops-schedule-timezone-help" className="jp-mlops-param-help">
          An IANA name such as <code>Europe/Paris</code> or <code>UTC</code>; this
          browser's is <code>{browserZone}</code>. Daylight saving time is handled.
        </div>
      </Field>
      <Field id="jp-mlops-schedule-overlap" label="If the previous run is still active" error={errors.overlap}>
        <select
          id="jp-mlops-schedule-overlap"
          className="jp-mlops-param-input jp-mod-styled"
          value={state.overlap}
          onChange={event =>
            set({ overlap: event.target.value as IScheduleFormState['overlap'] })
          }
        >
          {OVERLAP_POLICIES.map(policy => (
            <option key={policy} value={policy}>
              {OVERLAP_LABELS[policy] ?? policy}
            </option>
          ))}
        </select>
      </Field>
      <Field
        id="jp-mlops-schedule-catch-up"
        label="After downtime, catch up with"
        error={errors.catch_up}
      >
        <select
          id="jp-mlops-schedule-catch-up"
          className="jp-mlops-param-input jp-mod-styled"
          value={state.catchUp}
          onChange={event =>
            set({ catchUp: event.target.value as IScheduleFormState['catchUp'] })
          }
        >
          {CATCH_UP_POLICIES.map(policy => (
            <option key={policy} value={policy}>
              {CATCH_UP_LABELS[policy] ?? policy}
            </option>
          ))}
        </select>
      </Field>
      <Field id="jp-mlops-schedule-name" label="Name" error={errors.name}>
        <input
          id="jp-mlops-schedule-name"
          type="text"
          className="jp-mlops-param-input jp-mod-styled"
          placeholder={defaultName}
          value={state.name}
          onChange={event => set({ name: event.target.value })}
        />
      </Field>
    </fieldset>
  );
}

function Field(props: {
  id: string;
  label: string;
  error?: string;
  children: React.ReactNode;
}): JSX.Element {
  const { id, label, error, children } = props;
  return (
    <div
      className={`jp-mlops-param jp-mlops-schedule-field${error ? ' jp-mlops-mod-invalid' : ''}`}
      data-field={id.replace('jp-mlops-schedule-', '')}
    >
      <label htmlFor={id} className="jp-mlops-param-label">
        {label}
      </label>
      {children}
      {error ? (
        <div id={`${id}-error`} className="jp-mlops-param-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}
