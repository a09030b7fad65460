/**
 * Promote (point an alias at a version) and Rollback confirmations, with a reason for the
 * audit log. A quality-gate refusal (409) is shown in the dialog with the server's
 * comparison, and the user may then force the promotion (a reason is required).
 */
import { Dialog } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  errorMessage,
  IAliasChange,
  isGateRefusal,
  rollbackAlias,
  setAlias
} from '../api';
import { ISubmittableBody, SubmitDialog } from './SubmitDialog';

/** Aliases offered in the alias field (any other name is allowed too). */
export const COMMON_ALIASES = ['production', 'staging', 'champion', 'challenger'];

/** The server's alias rule (`registry/refs.py`): a letter, then letters, digits, `_`, `-`. */
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Why an alias cannot be used, or null. */
export function aliasProblem(alias: string): string | null {
  if (!alias.trim()) {
    return 'Enter an alias, e.g. production.';
  }
  if (!ALIAS_RE.test(alias.trim())) {
    return 'An alias starts with a letter and has only letters, digits, _ and - (64 at most).';
  }
  if (alias.trim() === 'latest') {
    return "'latest' is reserved and cannot be used as an alias.";
  }
  return null;
}

interface IPromoteState {
  alias: string;
  reason: string;
  force: boolean;
}

interface IPromoteFormProps {
  mode: 'promote' | 'rollback';
  name: string;
  version: number | null;
  /** Current holders of each alias, to say what moves. */
  aliases: Record<string, number>;
  initial: IPromoteState;
  /** The gate's refusal message; when set the force checkbox is offered. */
  gateMessage: string | null;
  error: string | null;
  onChange: (state: IPromoteState) => void;
}

function PromoteForm(props: IPromoteFormProps): JSX.Element {
  const { mode, name, version, aliases, gateMessage, error } = props;
  const [state, setState] = React.useState(props.initial);
  const update = (next: IPromoteState): void => {
    setState(next);
    props.onChange(next);
  };
  const holder = aliases[state.alias.trim()];
  const options = Array.from(new Set([...Object.keys(aliases), ...COMMON_ALIASES]));
  return (
    <form
      className="jp-mlops-promote-form"
      aria-label={mode === 'promote' ? 'Promote' : 'Rollback'}
      onSubmit={event => event.preventDefault()}
    >
      {mode === 'promote' ? (
        <>
          <label className="jp-mlops-param-label" htmlFor="jp-mlops-promote-alias">
            Alias for {name} v{version}
          </label>
          <input
            id="jp-mlops-promote-alias"
            className="jp-mlops-param-input jp-mod-styled"
            list="jp-mlops-alias-options"
            value={state.alias}
            spellCheck={false}
            onChange={event => update({ ...state, alias: event.target.value, force: false })}
          />
          <datalist id="jp-mlops-alias-options">
            {options.map(alias => (
              <option key={alias} value={alias} />
            ))}
          </datalist>
          <p className="jp-mlops-run-form-note">
            {holder === undefined
              ? `${state.alias.trim() || 'The alias'} is not set yet.`
              : holder === version
                ? `${state.alias.trim()} already points at v${version}.`
                : `${state.alias.trim()} moves from v${holder} to v${version}.`}
          </p>
        </>
      ) : (
        <p>
          Move <strong>{name}@{state.alias}</strong> (now v{aliases[state.alias] ?? '?'})
          back to the version it pointed at before its last change.
        </p>
      )}
      <label className="jp-mlops-param-label" htmlFor="jp-mlops-promote-reason">
        Reason (recorded in the audit log)
      </label>
      <textarea
        id="jp-mlops-promote-reason"
        className="jp-mlops-param-input jp-mod-styled"
        rows={2}
        value={state.reason}
        onChange={event => update({ ...state, reason: event.target.value })}
      />
      {gateMessage ? (
        <div className="jp-mlops-gate" role="alert">
          <div className="jp-mlops-gate-message">{gateMessage}</div>
          <label className="jp-mlops-force">
            <input
              type="checkbox"
              checked={state.force}
              onChange={event => update({ ...state, force: event.target.checked })}
            />{' '}
            Force the promotion past the quality gate (audited, reason required)
          </label>
        </div>
      ) : null}
      {error ? (
        <div className="jp-mlops-error jp-mlops-promote-error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}

/** The dialog body: keeps the form state and does the PUT/POST on accept. */
export class PromoteBody extends ReactWidget implements ISubmittableBody<IAliasChange | null> {
  constructor(options: PromoteBody.IOptions) {
    super();
    this.addClass('jp-mlops-promote-dialog');
    this._options = options;
    this._state = { alias: options.alias ?? 'production', reason: '', force: false };
  }

  async submit(): Promise<boolean> {
    const { mode, name, version, serverSettings } = this._options;
    const alias = this._state.alias.trim();
    const reason = this._state.reason.trim();
    this._error = mode === 'promote' ? aliasProblem(alias) : null;
    if (!this._error && !reason) {
      this._error = 'Give a reason: it is recorded in the audit log.';
    }
    if (!this._error && this._gateMessage && !this._state.force) {
      this._error = 'The quality gate refused this promotion: fix the model, or tick "Force".';
    }
    if (this._error) {
      this.update();
      return false;
    }
    try {
      this._result =
        mode === 'promote'
          ? await setAlias(
              name,
              alias,
              { version: version!, reason, ...(this._state.force ? { force: true } : {}) },
              serverSettings
            )
          : await rollbackAlias(name, alias, reason, serverSettings);
      return true;
    } catch (err) {
      if (isGateRefusal(err)) {
        this._gateMessage = err.message;
        this._error = null;
      } else {
        this._error = errorMessage(err);
      }
      this.update();
      return false;
    }
  }

  getValue(): IAliasChange | null {
    return this._result;
  }

  protected render(): JSX.Element {
    const { mode, name, version, aliases } = this._options;
    return (
      <PromoteForm
        mode={mode}
        name={name}
        version={version}
        aliases={aliases}
        initial={this._state}
        gateMessage={this._gateMessage}
        error={this._error}
        onChange={state => {
          if (state.alias !== this._state.alias) {
            this._gateMessage = null; // another alias: the refusal no longer applies
            this._state = state;
            this.update();
          }
          this._state = state;
        }}
      />
    );
  }

  private _options: PromoteBody.IOptions;
  private _state: IPromoteState;
  private _gateMessage: string | null = null;
  private _error: string | null = null;
  private _result: IAliasChange | null = null;
}

export namespace PromoteBody {
  export interface IOptions {
    mode: 'promote' | 'rollback';
    name: string;
    /** The version to promote (null for a rollback). */
    version: number | null;
    /** The alias to set or roll back (promote: the initial value of the field). */
    alias?: string;
    aliases: Record<string, number>;
    serverSettings?: ServerConnection.ISettings;
  }
}

/**
 * Ask for the alias and a reason, then promote `name` v`version`.
 *
 * @returns The alias change, or null when cancelled.
 */
export async function promoteVersion(
  options: Omit<PromoteBody.IOptions, 'mode'>
): Promise<IAliasChange | null> {
  return launch(
    { ...options, mode: 'promote' },
    `Promote ${options.name} v${options.version}`,
    'Promote'
  );
}

/**
 * Ask for a reason, then roll `name@alias` back to its previous version.
 *
 * @returns The alias change, or null when cancelled.
 */
export async function rollbackAliasDialog(
  options: Omit<PromoteBody.IOptions, 'mode' | 'version'> & { alias: string }
): Promise<IAliasChange | null> {
  return launch(
    { ...options, version: null, mode: 'rollback' },
    `Roll back ${options.name}@${options.alias}`,
    'Roll back'
  );
}

async function launch(
  options: PromoteBody.IOptions,
  title: string,
  label: string
): Promise<IAliasChange | null> {
  const body = new PromoteBody(options);
  const dialog = new SubmitDialog<IAliasChange | null>({
    title,
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label, ariaLabel: label })
    ],
    defaultButton: 1,
    focusNodeSelector: options.mode === 'promote' ? '#jp-mlops-promote-alias' : 'textarea'
  });
  dialog.addClass('jp-mlops-dialog');
  const result = await dialog.launch();
  return result.button.accept ? result.value : null;
}
