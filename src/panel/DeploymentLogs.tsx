import { ServerConnection } from '@jupyterlab/services';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, getDeploymentLogs } from '../api';

/** Lines of log fetched per view. */
const LOG_TAIL = 200;

/** The serving process's log, fetched when opened and on Reload. */
export function DeploymentLogs(props: {
  deploymentId: string;
  serverSettings: ServerConnection.ISettings;
}): JSX.Element {
  const [open, setOpen] = React.useState(false);
  const [text, setText] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);

  const load = React.useCallback(async () => {
    setLoading(true);
    try {
      const logs = await getDeploymentLogs(
        props.deploymentId,
        LOG_TAIL,
        props.serverSettings
      );
      setText(logs.text);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setLoading(false);
    }
  }, [props.deploymentId]);

  React.useEffect(() => {
    if (open) {
      void load();
    }
  }, [open, load]);

  return (
    <section className="jp-mlops-section jp-mlops-logs" aria-label="Logs">
      <h4 className="jp-mlops-section-title">
        <Button
          className="jp-mlops-logs-toggle"
          small
          minimal
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'} Logs
        </Button>
        {open ? (
          <Button
            className="jp-mlops-logs-reload"
            small
            minimal
            disabled={loading}
            onClick={() => void load()}
          >
            Reload
          </Button>
        ) : null}
      </h4>
      {open && error ? (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      ) : null}
      {open && text !== null ? (
        <pre className="jp-mlops-log-text" tabIndex={0} aria-label="Log lines">
          {text || '(empty log)'}
        </pre>
      ) : null}
    </section>
  );
}
