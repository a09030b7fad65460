import * as React from 'react';

import { IFormField } from './parameterForm';

export interface IParameterFieldProps {
  field: IFormField;
  value: string;
  /** Client-side or server error for this parameter. */
  error?: string;
  onChange: (value: string) => void;
}

/**
 * One typed input of the "Run with parameters" form: a checkbox for booleans,
 * a number input for int/float, a text input for str, JSON text otherwise.
 */
export function ParameterField(props: IParameterFieldProps): JSX.Element {
  const { field, value, error, onChange } = props;
  const id = `jp-mlops-param-${field.name}`;
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [field.help ? helpId : '', error ? errorId : '']
    .filter(Boolean)
    .join(' ');
  const changed = value !== field.initial;

  let input: JSX.Element;
  if (field.kind === 'boolean') {
    input = (
      <input
        id={id}
        type="checkbox"
        className="jp-mlops-param-input"
        checked={value === 'true'}
        aria-describedby={describedBy || undefined}
        onChange={event => onChange(event.target.checked ? 'true' : 'false')}
      />
    );
  } else if (field.kind === 'json') {
    input = (
      <textarea
        id={id}
        className="jp-mlops-param-input jp-mod-styled"
        rows={Math.min(4, Math.max(1, value.split('\n').length))}
        value={value}
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={event => onChange(event.target.value)}
      />
    );
  } else {
    const numeric = field.kind === 'integer' || field.kind === 'number';
    input = (
      <input
        id={id}
        type={numeric ? 'number' : 'text'}
        step={field.kind === 'integer' ? 1 : numeric ? 'any' : undefined}
        className="jp-mlops-param-input jp-mod-styled"
        value={value}
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={event => onChange(event.target.value)}
      />
    );
  }

  return (
    <div
      className={`jp-mlops-param${changed ? ' jp-mod-changed' : ''}`}
      data-parameter={field.name}
      data-kind={field.kind}
    >
      <label htmlFor={id} className="jp-mlops-param-label">
        <span className="jp-mlops-param-name">{field.name}</span>
        <span className="jp-mlops-param-type">{field.typeLabel}</span>
      </label>
      {input}
      {field.help ? (
        <div id={helpId} className="jp-mlops-param-help">
          {field.help}
        </div>
      ) : null}
      <div className="jp-mlops-param-default">
        default: <code>{field.defaultSource}</code>
      </div>
      {error ? (
        <div id={errorId} className="jp-mlops-param-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}
