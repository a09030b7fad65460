import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { IParameterSpec } from '../api';
import { ParameterField } from './ParameterField';
import { buildFields, collectParameters, IFormField } from './parameterForm';
import type { ISubmittableBody } from './SubmitDialog';

export interface IDeployParametersFormProps {
  notebookPath: string;
  target: string;
  fields: IFormField[];
  texts: Record<string, string>;
  errors: Record<string, string>;
  onChange: (name: string, text: string) => void;
}

/**
 * The notebook's parameters (the run dialog's typed fields), shown before a
 * one-click deploy that has to run the notebook first.
 */
export function DeployParametersForm(
  props: IDeployParametersFormProps
): JSX.Element {
  const { fields, texts, errors, onChange } = props;
  return (
    <form
      className="jp-mlops-deploy-params"
      aria-label="Notebook parameters"
      onSubmit={event => event.preventDefault()}
    >
      <p className="jp-mlops-deploy-intro">
        <code>{props.notebookPath}</code> has no successful run yet. It is run
        headlessly with these parameters (changed values are injected after the
        parameters cell), then the model it registers is deployed (
        {props.target}).
      </p>
      <div className="jp-mlops-params">
        {fields.map(field => (
          <ParameterField
            key={field.name}
            field={field}
            value={texts[field.name] ?? field.initial}
            error={errors[field.name]}
            onChange={text => onChange(field.name, text)}
          />
        ))}
      </div>
    </form>
  );
}

/**
 * The form as a {@link SubmitDialog} body: accepting checks the values (the
 * dialog stays open on a bad one) and gives the changed parameters.
 */
export class DeployParametersBody
  extends ReactWidget
  implements ISubmittableBody<Record<string, unknown>>
{
  constructor(options: {
    notebookPath: string;
    target: string;
    parameters: IParameterSpec[];
  }) {
    super();
    this.addClass('jp-mlops-deploy-params-dialog');
    this._notebookPath = options.notebookPath;
    this._target = options.target;
    this._fields = buildFields(options.parameters);
  }

  async submit(): Promise<boolean> {
    const { parameters, errors } = collectParameters(this._fields, this._texts);
    this._errors = errors;
    this._parameters = parameters;
    this.update();
    return Object.keys(errors).length === 0;
  }

  getValue(): Record<string, unknown> {
    return this._parameters;
  }

  protected render(): JSX.Element {
    return (
      <DeployParametersForm
        notebookPath={this._notebookPath}
        target={this._target}
        fields={this._fields}
        texts={this._texts}
        errors={this._errors}
        onChange={(name, text) => {
          this._texts = { ...this._texts, [name]: text };
          this.update();
        }}
      />
    );
  }

  private _notebookPath: string;
  private _target: string;
  private _fields: IFormField[];
  private _texts: Record<string, string> = {};
  private _errors: Record<string, string> = {};
  private _parameters: Record<string, unknown> = {};
}
