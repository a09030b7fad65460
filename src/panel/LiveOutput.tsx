import { ServerConnection } from '@jupyterlab/services';
import * as React from 'react';

import { getLiveOutput, ILiveCell } from '../api';
import { usePoll } from './usePoll';

/** Seconds between two reads of a running notebook's cells. */
const LIVE_POLL_SECONDS = 1;

/** An nbformat output, as the server stores it. */
type Output = { [key: string]: unknown };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function joined(text: unknown): string {
  return Array.isArray(text) ? text.join('') : String(text ?? '');
}

/** Merge newer cells into the ones shown, in notebook order. */
export function mergeCells(shown: ILiveCell[], newer: ILiveCell[]): ILiveCell[] {
  const byIndex = new Map(shown.map(cell => [cell.index, cell]));
  for (const cell of newer) {
    byIndex.set(cell.index, cell);
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** One output: streams and text as preformatted text, errors with their traceback, images. */
export function OutputView(props: { output: Output }): JSX.Element {
  const { output } = props;
  const kind = String(output.output_type);
  if (kind === 'stream') {
    return (
      <pre className={`jp-mlops-live-stream jp-mlops-live-${String(output.name)}`}>
        {joined(output.text)}
      </pre>
    );
  }
  if (kind === 'error') {
    const trace = Array.isArray(output.traceback) ? output.traceback.join('\n') : '';
    return (
      <pre className="jp-mlops-live-error" role="alert">
        {(trace || `${String(output.ename)}: ${String(output.evalue)}`).replace(ANSI, '')}
      </pre>
    );
  }
  const data = (output.data ?? {}) as { [mime: string]: unknown };
  const image = ['image/png', 'image/jpeg', 'image/gif'].find(mime => mime in data);
  if (image) {
    return (
      <img
        className="jp-mlops-live-image"
        alt="cell output"
        src={`data:${image};base64,${joined(data[image]).trim()}`}
      />
    );
  }
  if ('image/svg+xml' in data) {
    const svg = encodeURIComponent(joined(data['image/svg+xml']));
    return <img className="jp-mlops-live-image" alt="cell output" src={`data:image/svg+xml,${svg}`} />;
  }
  return <pre className="jp-mlops-live-result">{joined(data['text/plain'] ?? '')}</pre>;
}

function CellView(props: { cell: ILiveCell }): JSX.Element {
  const { cell } = props;
  const prompt = cell.status === 'running' ? '[*]' : `[${cell.execution_count ?? ' '}]`;
  return (
    <div
      className="jp-mlops-live-cell"
      data-index={cell.index}
      data-status={cell.status}
    >
      <div className="jp-mlops-live-input">
        <span className="jp-mlops-live-prompt">{cell.injected ? 'params' : prompt}</span>
        <pre className="jp-mlops-live-source">{cell.source}</pre>
      </div>
      <div className="jp-mlops-live-outputs">
        {(cell.outputs as Output[]).map((output, i) => (
          <OutputView key={i} output={output} />
        ))}
      </div>
    </div>
  );
}

export interface ILiveOutputProps {
  runId: string;
  /** The run is queued or running: keep reading. */
  running: boolean;
  /** The panel is shown. */
  active: boolean;
  serverSettings?: ServerConnection.ISettings;
}

/**
 * The cells a run executed so far with their outputs, read from
 * `GET runs/{id}/live` every second while it runs (only what changed), and once
 * more when it ends.
 */
export function LiveOutput(props: ILiveOutputProps): JSX.Element | null {
  const { runId, running, active, serverSettings } = props;
  const [cells, setCells] = React.useState<ILiveCell[]>([]);
  const seq = React.useRef(0);
  const current = React.useRef(runId);

  React.useEffect(() => {
    current.current = runId;
    seq.current = 0;
    setCells([]);
  }, [runId]);

  usePoll(
    async () => {
      const asked = runId;
      try {
        const live = await getLiveOutput(asked, seq.current, serverSettings);
        if (current.current !== asked || live.seq < seq.current) {
          return;
        }
        seq.current = live.seq;
        if (live.cells.length) {
          setCells(shown => mergeCells(shown, live.cells));
        }
      } catch {
        // The run detail shows the run's own errors; the live view just waits for the next read.
      }
    },
    {
      active,
      interval: running ? LIVE_POLL_SECONDS : 0,
      triggers: [runId, running],
      name: 'mlops-live-output'
    }
  );

  const code = cells.filter(cell => cell.cell_type === 'code');
  if (!code.length) {
    return running ? (
      <p className="jp-mlops-muted jp-mlops-live-empty">No cell has produced output yet.</p>
    ) : null;
  }
  return (
    <div className="jp-mlops-live" aria-label="Cells executed so far" aria-live="polite">
      {code.map(cell => (
        <CellView key={cell.index} cell={cell} />
      ))}
    </div>
  );
}
