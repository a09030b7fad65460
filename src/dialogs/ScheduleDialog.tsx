/**
 * "Schedule…": the dialog that turns the "Run with parameters" form into a
 * cron schedule of the notebook (`POST schedules`), and "Edit schedule"
 * (`PATCH schedules/{id}`). A refused request (400) shows the server's message
 * next to the field it names and keeps the dialog open; nothing was stored.
 */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  createSchedule,
  errorField,
  errorMessage,
  INotebookParameters,
  ISchedule,
  updateSchedule
} from '../api';
import { basename, formatAbsoluteTime } from '../panel/format';
import {
  buildFields,
  collectParameters,
  IFormField,
  parameterInMessage,
  parseTimeout
} from './parameterForm';
import { IRunFormState, RunParametersForm } from './RunParametersForm';
import { ScheduleFields } from './ScheduleFields';
import {
  createScheduleBody,
  IScheduleFormState,
  newScheduleState,
  ScheduleField,
  scheduleFieldOf,
  scheduleState,
  updateScheduleBody,
  validateSchedule
} from './scheduleForm';
import { ISubmittableBody, SubmitDialog } from './SubmitDialog';

type ScheduleErrors = Partial<Record<ScheduleField, string>>;

/** Where a server error goes: a schedule field, a parameter, or the whole form. */
function placeError(
  err: unknown,
  fields: ReadonlyArray<IFormField>
): { schedule: ScheduleErrors; parameters: Record<string, string>; message: string } {
  const message = errorMessage(err);
  const field = errorField(err);
  const scheduleField = scheduleFieldOf(field);
  if (scheduleField) {
    return { schedule: { [scheduleField]: message }, parameters: {}, message };
  }
  const parameter = [field, parameterInMessage(message)].find(
    name => name && fields.some(f => f.name === name)
  );
  if (parameter) {
    return { schedule: {}, parameters: { [parameter]: message }, message };
  }
  if (field === 'timeout') {
    return { schedule: {}, parameters: { timeout: message }, message };
  }
  return { schedule: {}, parameters: {}, message };
}

/**
 * The "Schedule…" dialog's body: the notebook's parameters (as in "Run with
 * parameters", carrying over what was typed there) and when to run.
 */
export class ScheduleBody extends ReactWidget implements ISubmittableBody<ISchedule | null> {
  constructor(options: ScheduleBody.IOptions) {
    super();
    this.addClass('jp-mlops-run-dialog');
    this.addClass('jp-mlops-schedule-dialog');
    this._info = options.info;
    this._fields = buildFields(options.info.parameters);
    this._serverSettings = options.serverSettings;
    this._state = options.initial ?? { texts: {}, timeout: '', tags: '' };
    this._schedule = newScheduleState(options.defaultTimezone);
  }

  get fields(): ReadonlyArray<IFormField> {
    return this._fields;
  }

  /** What the schedule part of the form holds now. */
  get schedule(): Readonly<IScheduleFormState> {
    return this._schedule;
  }

  async submit(): Promise<boolean> {
    const { parameters, errors } = collectParameters(this._fields, this._state.texts);
    const timeout = parseTimeout(this._state.timeout);
    if (typeof timeout === 'string') {
      errors['timeout'] = timeout;
    }
    const scheduleErrors = validateSchedule(this._schedule);
    this._fieldErrors = errors;
    this._scheduleErrors = scheduleErrors;
    this._error = null;
    if (Object.keys(errors).length || Object.keys(scheduleErrors).length) {
      this._error = 'Fix the highlighted values.';
      this.update();
      return false;
    }
    this.update();
    try {
      this._created = await createSchedule(
        createScheduleBody(this._info.path, this._schedule, {
          parameters,
          ...(typeof timeout === 'number' ? { timeout } : {})
        }),
        this._serverSettings
      );
      return true;
    } catch (err) {
      const placed = placeError(err, this._fields);
      this._error = placed.message;
      this._scheduleErrors = placed.schedule;
      this._fieldErrors = placed.parameters;
      this.update();
      return false;
    }
  }

  getValue(): ISchedule | null {
    return this._created;
  }

  protected render(): JSX.Element {
    return (
      <RunParametersForm
        info={this._info}
        fields={this._fields}
        initial={this._state}
        fieldErrors={this._fieldErrors}
        error={this._error}
        showTags={false}
        onChange={state => {
          this._state = state;
        }}
      >
        <ScheduleFields
          initial={this._schedule}
          errors={this._scheduleErrors}
          defaultName={basename(this._info.path)}
          onChange={state => {
            this._schedule = state;
          }}
        />
      </RunParametersForm>
    );
  }

  private _info: INotebookParameters;
  private _fields: IFormField[];
  private _serverSettings?: ServerConnection.ISettings;
  private _state: IRunFormState;
  private _schedule: IScheduleFormState;
  private _fieldErrors: Record<string, string> = {};
  private _scheduleErrors: ScheduleErrors = {};
  private _error: string | null = null;
  private _created: ISchedule | null = null;
}

export namespace ScheduleBody {
  export interface IOptions {
    info: INotebookParameters;
    serverSettings?: ServerConnection.ISettings;
    /** What was typed in "Run with parameters" before choosing "Schedule…". */
    initial?: IRunFormState;
    /** The `defaultTimezone` setting ('' = the browser's zone). */
    defaultTimezone?: string;
  }
}

/** The sentence shown once a schedule exists: the server's words and the next fire time. */
export function scheduleSummary(schedule: ISchedule): string {
  const next = schedule.next_fire_at
    ? `next run ${formatAbsoluteTime(schedule.next_fire_at)}`
    : schedule.active
      ? 'no next run'
      : 'paused';
  return `${schedule.description}; ${next}`;
}

/**
 * Open the "Schedule…" dialog for the notebook described by `info`.
 *
 * @returns The created schedule, or null when cancelled.
 */
export async function scheduleNotebook(
  options: ScheduleBody.IOptions & { onScheduled?: (schedule: ISchedule) => void }
): Promise<ISchedule | null> {
  const body = new ScheduleBody(options);
  const dialog = new SubmitDialog<ISchedule | null>({
    title: `Schedule ${basename(options.info.path)}`,
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Create schedule', ariaLabel: 'Create the schedule' })
    ],
    defaultButton: 1,
    focusNodeSelector: '#jp-mlops-schedule-cron'
  });
  dialog.addClass('jp-mlops-dialog');
  const result = await dialog.launch();
  const schedule = result.button.accept ? result.value : null;
  if (schedule) {
    Notification.success(`Schedule "${schedule.name}" created: ${scheduleSummary(schedule)}.`, {
      autoClose: 10000
    });
    options.onScheduled?.(schedule);
  }
  return schedule;
}

// ---------------------------------------------------------------------------
// Edit
// ---------------------------------------------------------------------------

/** The parameters of a schedule as the JSON text the edit dialog shows. */
export function parametersText(parameters: Record<string, unknown>): string {
  return Object.keys(parameters).length ? JSON.stringify(parameters, null, 2) : '{}';
}

/** The edit dialog's parameters text as an object, or an error naming the field. */
export function parseParametersText(
  text: string
): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text.trim() || '{}');
  } catch {
    return { ok: false, error: 'parameters: expected a JSON object, e.g. {"C": 0.5}' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'parameters: expected a JSON object, e.g. {"C": 0.5}' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** "Edit schedule": its timing, policies, name and parameters. */
export class ScheduleEditBody
  extends ReactWidget
  implements ISubmittableBody<ISchedule | null>
{
  constructor(schedule: ISchedule, serverSettings?: ServerConnection.ISettings) {
    super();
    this.addClass('jp-mlops-schedule-dialog');
    this._original = schedule;
    this._serverSettings = serverSettings;
    this._schedule = scheduleState(schedule);
    this._parameters = parametersText(schedule.parameters);
  }

  async submit(): Promise<boolean> {
    const errors = validateSchedule(this._schedule);
    const parameters = parseParametersText(this._parameters);
    this._scheduleErrors = errors;
    this._parametersError = parameters.ok ? null : parameters.error;
    this._error = null;
    if (Object.keys(errors).length || !parameters.ok) {
      this._error = 'Fix the highlighted values.';
      this.update();
      return false;
    }
    const body = updateScheduleBody(this._original, this._schedule, parameters.value);
    this.update();
    if (Object.keys(body).length === 0) {
      this._saved = this._original;
      return true;
    }
    try {
      this._saved = await updateSchedule(this._original.id, body, this._serverSettings);
      return true;
    } catch (err) {
      const placed = placeError(err, []);
      this._error = placed.message;
      this._scheduleErrors = placed.schedule;
      const field = errorField(err);
      if (!scheduleFieldOf(field) && field) {
        this._parametersError = placed.message;
      }
      this.update();
      return false;
    }
  }

  getValue(): ISchedule | null {
    return this._saved;
  }

  protected render(): JSX.Element {
    return (
      <form
        className="jp-mlops-run-form"
        aria-label="Edit schedule"
        onSubmit={event => event.preventDefault()}
      >
        <div className="jp-mlops-run-form-notebook">
          <code>{this._original.target_path}</code>
        </div>
        <ScheduleFields
          initial={this._schedule}
          errors={this._scheduleErrors}
          defaultName={this._original.name}
          onChange={state => {
            this._schedule = state;
          }}
        />
        <ParametersText
          initial={this._parameters}
          error={this._parametersError}
          onChange={text => {
            this._parameters = text;
          }}
        />
        {this._error ? (
          <div className="jp-mlops-error jp-mlops-run-form-error" role="alert">
            {this._error}
          </div>
        ) : null}
      </form>
    );
  }

  private _original: ISchedule;
  private _serverSettings?: ServerConnection.ISettings;
  private _schedule: IScheduleFormState;
  private _parameters: string;
  private _scheduleErrors: ScheduleErrors = {};
  private _parametersError: string | null = null;
  private _error: string | null = null;
  private _saved: ISchedule | null = null;
}

/** The edit dialog's parameters, as JSON text (keeps what is typed itself). */
function ParametersText(props: {
  initial: string;
  error: string | null;
  onChange: (text: string) => void;
}): JSX.Element {
  const [text, setText] = React.useState(props.initial);
  return (
    <div className="jp-mlops-param" data-field="parameters">
      <label htmlFor="jp-mlops-schedule-parameters" className="jp-mlops-param-label">
        Parameters (JSON object; the notebook's defaults for the others)
      </label>
      <textarea
        id="jp-mlops-schedule-parameters"
        className="jp-mlops-param-input jp-mod-styled"
        rows={4}
        spellCheck={false}
        value={text}
        aria-invalid={props.error ? true : undefined}
        onChange={event => {
          setText(event.target.value);
          props.onChange(event.target.value);
        }}
      />
      {props.error ? (
        <div className="jp-mlops-param-error" role="alert">
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/**
 * Open "Edit schedule".
 *
 * @returns The schedule as saved, or null when cancelled.
 */
export async function editSchedule(
  schedule: ISchedule,
  serverSettings?: ServerConnection.ISettings
): Promise<ISchedule | null> {
  const dialog = new SubmitDialog<ISchedule | null>({
    title: `Edit schedule ${schedule.name}`,
    body: new ScheduleEditBody(schedule, serverSettings),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })],
    defaultButton: 1,
    focusNodeSelector: '#jp-mlops-schedule-cron'
  });
  dialog.addClass('jp-mlops-dialog');
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
