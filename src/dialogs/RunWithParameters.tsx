/**
 * "Run with parameters": a dialog whose form is generated from the notebook's detected
 * parameters (`GET notebooks/parameters`), submitting `POST runs` — or, with its
 * "Schedule…" choice, going on to the schedule dialog (`POST schedules`, see
 * ScheduleDialog.tsx) with what was typed.
 */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorField,
  errorMessage,
  getNotebookParameters,
  INotebookParameters,
  IRun,
  ISchedule,
  MLOpsAPIError,
  showError,
  submitRun
} from '../api';
import { basename } from '../panel/format';
import {
  buildFields,
  collectParameters,
  formStateOf,
  IFormField,
  parameterInMessage,
  parseTags,
  parseTimeout
} from './parameterForm';
import { IRunFormState, RunParametersForm } from './RunParametersForm';
import { scheduleNotebook } from './ScheduleDialog';
import { ISubmittableBody, SubmitDialog } from './SubmitDialog';

export { parameterInMessage } from './parameterForm';

/** Class of the dialog's "Schedule…" button (it opens the schedule dialog instead of running). */
export const SCHEDULE_CHOICE_CLASS = 'jp-mlops-schedule-choice';

/**
 * The dialog's body: holds what the user typed, and submits the run.
 */
export class RunParametersBody
  extends ReactWidget
  implements ISubmittableBody<IRun | null>
{
  constructor(
    info: INotebookParameters,
    serverSettings?: ServerConnection.ISettings,
    from?: IRun
  ) {
    super();
    this.addClass('jp-mlops-run-dialog');
    this._info = info;
    this._fields = buildFields(info.parameters);
    this._serverSettings = serverSettings;
    this._state = from
      ? formStateOf(this._fields, from)
      : { texts: {}, timeout: '', tags: '' };
  }

  /** The form's fields (one per detected parameter). */
  get fields(): ReadonlyArray<IFormField> {
    return this._fields;
  }

  /** What the user typed (carried over to the "Schedule…" dialog). */
  get state(): Readonly<IRunFormState> {
    return this._state;
  }

  /**
   * Check the values, `POST runs`; on a 4xx show the server's message (on the
   * parameter it names) and keep the dialog open.
   */
  async submit(): Promise<boolean> {
    const { parameters, errors } = collectParameters(
      this._fields,
      this._state.texts
    );
    const timeout = parseTimeout(this._state.timeout);
    if (typeof timeout === 'string') {
      errors['timeout'] = timeout;
    }
    this._fieldErrors = errors;
    this._error = null;
    if (Object.keys(errors).length) {
      this._error = 'Fix the highlighted values.';
      this.update();
      return false;
    }
    this.update();
    try {
      this._run = await submitRun(
        {
          notebook_path: this._info.path,
          parameters,
          ...(typeof timeout === 'number' ? { timeout } : {}),
          ...(this._state.tags.trim() ? { tags: parseTags(this._state.tags) } : {})
        },
        this._serverSettings
      );
      return true;
    } catch (err) {
      const message = errorMessage(err);
      this._error = message;
      const name =
        err instanceof MLOpsAPIError ? (errorField(err) ?? parameterInMessage(message)) : null;
      if (name && this._fields.some(f => f.name === name)) {
        this._fieldErrors = { [name]: message };
      }
      this.update();
      return false;
    }
  }

  getValue(): IRun | null {
    return this._run;
  }

  protected render(): JSX.Element {
    return (
      <RunParametersForm
        info={this._info}
        fields={this._fields}
        initial={this._state}
        fieldErrors={this._fieldErrors}
        error={this._error}
        onChange={state => {
          this._state = state;
        }}
      />
    );
  }

  private _info: INotebookParameters;
  private _fields: IFormField[];
  private _serverSettings?: ServerConnection.ISettings;
  private _state: IRunFormState;
  private _fieldErrors: Record<string, string> = {};
  private _error: string | null = null;
  private _run: IRun | null = null;
}

export interface IRunWithParametersOptions {
  /** Notebook path relative to the server root. */
  path: string;
  serverSettings?: ServerConnection.ISettings;
  /** Called with the queued run (e.g. to show it in the panel). */
  onSubmitted?: (run: IRun) => void;
  /** Called with a schedule created through "Schedule…" (e.g. to show it in the panel). */
  onScheduled?: (schedule: ISchedule) => void;
  /** The time zone "Schedule…" starts with ('' or missing: the browser's). */
  defaultTimezone?: string;
  /** "Run again…": the form starts with this run's parameters, timeout and tags. */
  from?: IRun;
}

/**
 * Ask for parameter values and start a run of the notebook at `path`.
 *
 * @returns The queued run, or null when the user cancelled or chose "Schedule…" (or
 *   the parameters could not be read: then the error was shown as a notification).
 */
export async function runWithParameters(
  options: IRunWithParametersOptions
): Promise<IRun | null> {
  const { path, serverSettings } = options;
  let info: INotebookParameters;
  try {
    info = await getNotebookParameters(path, serverSettings);
  } catch (err) {
    showError(err, `Reading the parameters of ${path}`);
    return null;
  }
  const body = new RunParametersBody(info, serverSettings, options.from);
  const dialog = new SubmitDialog<IRun | null>({
    title: `Run ${basename(path)} with parameters`,
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.createButton({
        label: 'Schedule…',
        caption: 'Run this notebook on a cron schedule instead',
        className: SCHEDULE_CHOICE_CLASS,
        accept: false,
        actions: ['schedule']
      }),
      Dialog.okButton({ label: 'Run', ariaLabel: 'Run the notebook' })
    ],
    defaultButton: 2,
    focusNodeSelector: 'input, textarea'
  });
  dialog.addClass('jp-mlops-dialog');
  const result = await dialog.launch();
  if (result.button.actions.includes('schedule')) {
    await scheduleNotebook({
      info,
      serverSettings,
      initial: body.state,
      defaultTimezone: options.defaultTimezone,
      onScheduled: options.onScheduled
    });
    return null;
  }
  const run = result.button.accept ? result.value : null;
  if (run) {
    Notification.success(`Run of ${basename(path)} queued (${run.id}).`, {
      autoClose: 5000
    });
    options.onSubmitted?.(run);
  }
  return run;
}
