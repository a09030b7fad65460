import * as React from 'react';

import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from '../api';
import {
  CRON_EXAMPLES,
  CRON_FIELD_NAMES,
  IScheduleFormState,
  ScheduleField,
  timezoneNames
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
 * When and how a schedule runs: name, cron (5 fields, with examples), time zone
 * (suggesting the browser's IANA names), overlap and catch-up policies.
 */
export function ScheduleFields(props: IScheduleFieldsProps): JSX.Element {
  const { errors, onChange, defaultName } = props;
  const [state, setState] = React.useState<IScheduleFormState>(props.initial);
  const zones = React.useMemo(() => timezoneNames(props.initial.timezone), []);
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
          list="jp-mlops-schedule-cron-examples"
          spellCheck={false}
          autoComplete="off"
          value={state.cron}
          aria-invalid={errors.cron ? true : undefined}
          aria-describedby="jp-mlops-schedule-cron-help"
          onChange={event => set({ cron: event.target.value })}
        />
        <datalist id="jp-mlops-schedule-cron-examples">
          {CRON_EXAMPLES.map(example => (
            <option key={example.cron} value={example.cron}>
              {example.label}
            </option>
          ))}
        </datalist>
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
          list="jp-mlops-schedule-timezones"
          spellCheck={false}
          autoComplete="off"
          value={state.timezone}
          aria-invalid={errors.timezone ? true : undefined}
          onChange={event => set({ timezone: event.target.value })}
        />
        <datalist id="jp-mlops-schedule-timezones">
          {zones.map(zone => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
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
