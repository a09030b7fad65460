import { ServerConnection } from '@jupyterlab/services';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  DEFAULT_CANARY_PERCENT,
  errorMessage,
  IDeployment,
  listVersionNumbers,
  setCanary
} from '../api';

/**
 * The canary split of a deployment: shows the challenger version and its
 * share of traffic (or shadow mode), and sets or removes it
 * (`PUT deployments/{id}/canary`).
 */
export function CanaryForm(props: {
  deployment: IDeployment;
  serverSettings: ServerConnection.ISettings;
  onChanged: () => void;
}): JSX.Element {
  const { deployment, serverSettings } = props;
  const canary = deployment.config?.canary ?? null;
  const shadow = deployment.config?.shadow ?? null;
  const canaryShare = canary?.percent ?? DEFAULT_CANARY_PERCENT;
  const [versions, setVersions] = React.useState<number[] | null>(null);
  const [version, setVersion] = React.useState<string>(
    String(canary?.version ?? shadow?.version ?? '')
  );
  const [percent, setPercent] = React.useState<string>(
    String(canaryShare)
  );
  const [mode, setMode] = React.useState<'canary' | 'shadow'>(
    shadow ? 'shadow' : 'canary'
  );
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);

  React.useEffect(() => {
    let cancelled = false;
    listVersionNumbers(deployment.model, serverSettings)
      .then(all => {
        if (!cancelled) {
          const others = all.filter(v => v !== deployment.version);
          setVersions(others);
          setVersion(current => current || String(others[0] ?? ''));
        }
      })
      .catch(err => !cancelled && setError(errorMessage(err)));
    return () => {
      cancelled = true;
    };
  }, [deployment.model, deployment.version]);

  const apply = async (body: {
    version?: number;
    percent?: number;
    shadow?: boolean;
  }): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await setCanary(deployment.id, body, serverSettings);
      props.onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (): void => {
    const v = Number(version);
    if (!Number.isInteger(v) || v < 1) {
      setError('Choose a challenger version.');
      return;
    }
    if (mode === 'shadow') {
      void apply({ version: v, shadow: true });
      return;
    }
    const p = Number(percent);
    if (!Number.isInteger(p) || p < 0 || p > 100) {
      setError('The canary share must be a whole percent from 0 to 100.');
      return;
    }
    void apply({ version: v, percent: p });
  };

  const id = `jp-mlops-canary-${deployment.id}`;
  return (
    <section className="jp-mlops-section jp-mlops-canary" aria-label="Canary">
      <h4 className="jp-mlops-section-title">Canary</h4>
      <p className="jp-mlops-canary-current" data-canary={canary ? 'on' : shadow ? 'shadow' : 'off'}>
        {canary
          ? `v${canary.version} gets ${canaryShare} % of traffic, v${deployment.version} ${100 - canaryShare} %.`
          : shadow
            ? `v${shadow.version} mirrors all traffic in shadow (answers come from v${deployment.version}).`
            : `All traffic goes to v${deployment.version}.`}
      </p>
      {versions !== null && versions.length === 0 ? (
        <p className="jp-mlops-hint">
          Register another version of {deployment.model} to run a canary.
        </p>
      ) : (
        <form
          className="jp-mlops-canary-form"
          onSubmit={event => {
            event.preventDefault();
            submit();
          }}
        >
          <label htmlFor={`${id}-version`}>Challenger</label>
          <select
            id={`${id}-version`}
            className="jp-mod-styled"
            value={version}
            onChange={event => setVersion(event.target.value)}
          >
            {(versions ?? []).map(v => (
              <option key={v} value={String(v)}>
                v{v}
              </option>
            ))}
          </select>
          <label htmlFor={`${id}-mode`}>Mode</label>
          <select
            id={`${id}-mode`}
            className="jp-mod-styled"
            value={mode}
            onChange={event =>
              setMode(event.target.value === 'shadow' ? 'shadow' : 'canary')
            }
          >
            <option value="canary">canary split</option>
            <option value="shadow">shadow (mirror)</option>
          </select>
          {mode === 'canary' ? (
            <>
              <label htmlFor={`${id}-percent`}>Share (%)</label>
              <input
                id={`${id}-percent`}
                className="jp-mod-styled jp-mlops-canary-percent"
                type="number"
                min={0}
                max={100}
                step={1}
                value={percent}
                onChange={event => setPercent(event.target.value)}
              />
            </>
          ) : null}
          <div className="jp-mlops-actions">
            <Button
              type="submit"
              small
              className="jp-mlops-canary-apply"
              disabled={busy || versions === null}
            >
              {busy ? 'Applying…' : 'Apply'}
            </Button>
            {canary || shadow ? (
              <Button
                small
                minimal
                className="jp-mlops-canary-remove"
                disabled={busy}
                onClick={() => void apply({})}
              >
                Remove challenger
              </Button>
            ) : null}
          </div>
        </form>
      )}
      {error ? (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      ) : null}
    </section>
  );
}
