/**
 * Display helpers of the Runs tab (pure, unit-tested).
 */
import { IRun } from '../api';
import { formatMetric } from './format';

/** A parameter value as short text: numbers via formatMetric, the rest as JSON. */
export function formatValue(value: unknown, maxLength = 40): string {
  let text: string;
  if (typeof value === 'number') {
    text = formatMetric(value);
  } else if (typeof value === 'string') {
    text = JSON.stringify(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** `alpha=0.5, epochs=3` for the first `max` parameters, `+N` for the rest. */
export function summarizeParameters(
  parameters: Record<string, unknown> | null | undefined,
  max = 3
): string {
  const entries = Object.entries(parameters ?? {});
  const shown = entries
    .slice(0, max)
    .map(([key, value]) => `${key}=${formatValue(value, 24)}`);
  if (entries.length > max) {
    shown.push(`+${entries.length - max}`);
  }
  return shown.join(', ');
}

/** "cell 3/10" while a run has progress, else ''. */
export function progressText(run: Pick<IRun, 'status' | 'progress'>): string {
  const p = run.progress;
  if (run.status !== 'running' || !p || !p.cells_total) {
    return '';
  }
  return `cell ${p.cells_done ?? 0}/${p.cells_total}`;
}

/** Fraction 0..1 of cells done, or null when unknown. */
export function progressFraction(run: Pick<IRun, 'progress'>): number | null {
  const p = run.progress;
  if (!p || !p.cells_total) {
    return null;
  }
  return Math.min(1, Math.max(0, (p.cells_done ?? 0) / p.cells_total));
}

/** The error of a failed run as one line: `Cell 3: ValueError: bad`. */
export function errorLine(error: IRun['error']): string {
  if (!error) {
    return '';
  }
  const cell =
    error.cell_index !== null && error.cell_index !== undefined
      ? `Cell ${error.cell_index}: `
      : '';
  const what = [error.ename, error.evalue].filter(part => part).join(': ');
  return `${cell}${what || 'failed'}`;
}

/** A sha256 cut to 12 hex digits for display (the full value goes in the title). */
export function shortHash(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : '—';
}
