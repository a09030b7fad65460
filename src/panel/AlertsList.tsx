import { ServerConnection } from '@jupyterlab/services';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { acknowledgeAlert, errorMessage, IAlert } from '../api';
import { formatAbsoluteTime, formatRelativeTime } from './format';

/** The pipeline run a monitor's `retrain.pipeline` started for this alert, if any. */
function retrainPipelineRun(alert: IAlert): string | null {
  const retrain = alert.details?.retrain as { pipeline_run_id?: string } | undefined;
  return retrain?.pipeline_run_id ?? null;
}

/** Drift alerts with an Acknowledge button each. */
export function AlertsList(props: {
  alerts: IAlert[];
  serverSettings: ServerConnection.ISettings;
  onAcknowledged: () => void;
  label?: string;
}): JSX.Element {
  const [busy, setBusy] = React.useState<number | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const acknowledge = async (alert: IAlert): Promise<void> => {
    setBusy(alert.id);
    setError(null);
    try {
      await acknowledgeAlert(alert.id, props.serverSettings);
      props.onAcknowledged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      {error ? (
        <div className="jp-mlops-error" role="alert">
          {error}
        </div>
      ) : null}
      <ul className="jp-mlops-alert-list" aria-label={props.label ?? 'Alerts'}>
        {props.alerts.map(alert => (
          <li
            key={alert.id}
            className={`jp-mlops-alert jp-mlops-alert-${alert.severity}${alert.acknowledged ? ' jp-mod-acknowledged' : ''}`}
            data-alert-id={alert.id}
          >
            <div className="jp-mlops-alert-message">{alert.message}</div>
            <div className="jp-mlops-row-meta">
              {alert.deployment_name ? <span>{alert.deployment_name}</span> : null}
              <span>{alert.rule}</span>
              <span title={formatAbsoluteTime(alert.created_at)}>
                {formatRelativeTime(alert.created_at)}
              </span>
              {alert.retrain_run_id ? (
                <span>retrain run {alert.retrain_run_id}</span>
              ) : null}
              {retrainPipelineRun(alert) ? (
                <span>retrain pipeline run {retrainPipelineRun(alert)}</span>
              ) : null}
              {alert.acknowledged ? (
                <span className="jp-mlops-alert-acked">acknowledged</span>
              ) : (
                <Button
                  small
                  minimal
                  className="jp-mlops-alert-ack"
                  disabled={busy === alert.id}
                  aria-label={`Acknowledge alert: ${alert.message}`}
                  onClick={() => void acknowledge(alert)}
                >
                  Acknowledge
                </Button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
