import * as React from 'react';

import { INotebookParameters } from '../api';
import { ParameterField } from './ParameterField';
import { IFormField } from './parameterForm';

/** Everything the user can type in the dialog. */
export interface IRunFormState {
  texts: Record<string, string>;
  timeout: string;
  tags: string;
}

export interface IRunParametersFormProps {
  info: INotebookParameters;
  fields: IFormField[];
  initial: IRunFormState;
  /** Errors per parameter name (client-side coercion or the server's 400). */
  fieldErrors: Record<string, string>;
  /** An error not tied to one parameter. */
  error: string | null;
  onChange: (state: IRunFormState) => void;
  /** Offer the run's tags (not for schedules, whose runs have none); default true. */
  showTags?: boolean;
  /** Shown after the options, inside the form (the "Schedule…" dialog's fields). */
  children?: React.ReactNode;
}

/**
 * The body of "Run with parameters": one typed input per detected parameter (or how to
 * add a parameters cell), plus the run's timeout and tags.
 */
export function RunParametersForm(props: IRunParametersFormProps): JSX.Element {
  const { info, fields, fieldErrors, error, onChange } = props;
  const showTags = props.showTags ?? true;
  const [state, setState] = React.useState<IRunFormState>(props.initial);

  const update = (next: IRunFormState): void => {
    setState(next);
    onChange(next);
  };

  return (
    <form
      className="jp-mlops-run-form"
      aria-label="Run parameters"
      onSubmit={event => event.preventDefault()}
    >
      <div className="jp-mlops-run-form-notebook">
        <code>{info.path}</code>
        {info.kernel_display_name || info.kernel_name ? (
          <span> · kernel {info.kernel_display_name || info.kernel_name}</span>
        ) : null}
      </div>
      {info.has_parameters_cell ? (
        fields.length ? (
          <>
            <p className="jp-mlops-run-form-note">
              Changed values are injected after the parameters cell; the others
              keep the notebook's defaults.
            </p>
            <div className="jp-mlops-params">
              {fields.map(field => (
                <ParameterField
                  key={field.name}
                  field={field}
                  value={state.texts[field.name] ?? field.initial}
                  error={fieldErrors[field.name]}
                  onChange={value =>
                    update({
                      ...state,
                      texts: { ...state.texts, [field.name]: value }
                    })
                  }
                />
              ))}
            </div>
          </>
        ) : (
          <p className="jp-mlops-run-form-note">
            The parameters cell assigns no variables: the notebook runs as is.
          </p>
        )
      ) : (
        <div className="jp-mlops-run-form-hint" role="note">
          {info.hint ??
            "This notebook has no cell tagged 'parameters': it runs with no parameters."}{' '}
          You can still run it as is.
        </div>
      )}
      <details className="jp-mlops-run-form-options">
        <summary>Options</summary>
        <label className="jp-mlops-param-label" htmlFor="jp-mlops-run-timeout">
          Timeout (seconds, empty = server default)
        </label>
        <input
          id="jp-mlops-run-timeout"
          type="number"
          min={1}
          className="jp-mlops-param-input jp-mod-styled"
          value={state.timeout}
          onChange={event => update({ ...state, timeout: event.target.value })}
        />
        {fieldErrors['timeout'] ? (
          <div className="jp-mlops-param-error" role="alert">
            {fieldErrors['timeout']}
          </div>
        ) : null}
        {showTags ? (
          <>
            <label className="jp-mlops-param-label" htmlFor="jp-mlops-run-tags">
              Tags (comma-separated)
            </label>
            <input
              id="jp-mlops-run-tags"
              type="text"
              className="jp-mlops-param-input jp-mod-styled"
              value={state.tags}
              onChange={event => update({ ...state, tags: event.target.value })}
            />
          </>
        ) : null}
      </details>
      {props.children}
      {error ? (
        <div className="jp-mlops-error jp-mlops-run-form-error" role="alert">
          {error}
        </div>
      ) : null}
    </form>
  );
}
