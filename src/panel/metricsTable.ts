/**
 * Versions × metrics, side by side (pure, unit-tested): one row per version, one column
 * per metric any of them has, and the best value per column marked.
 */
import { IModelVersion } from '../api';

/** Metrics where smaller is better, by name (the rest: bigger is better). */
const LOWER_IS_BETTER = /(loss|error|err$|mse|mae|rmse|mape|latency|brier|log_?loss)/i;

export interface IMetricsTable {
  /** Metric names, in first-seen order over the versions (newest first). */
  columns: string[];
  rows: { version: IModelVersion; values: (number | null)[] }[];
  /** Per column: the version number(s) with the best value, for highlighting. */
  best: Record<string, number[]>;
}

/** Whether smaller values of `metric` are better (loss, error, mse, …). */
export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.test(metric);
}

/** Build the table; non-numeric metric values show as missing. */
export function buildMetricsTable(versions: IModelVersion[]): IMetricsTable {
  const columns: string[] = [];
  for (const version of versions) {
    for (const key of Object.keys(version.metrics ?? {})) {
      if (!columns.includes(key)) {
        columns.push(key);
      }
    }
  }
  const rows = versions.map(version => ({
    version,
    values: columns.map(key => {
      const value = version.metrics?.[key];
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    })
  }));
  const best: Record<string, number[]> = {};
  columns.forEach((key, index) => {
    const present = rows.filter(row => row.values[index] !== null);
    if (present.length < 2) {
      return;
    }
    const values = present.map(row => row.values[index] as number);
    const target = lowerIsBetter(key) ? Math.min(...values) : Math.max(...values);
    best[key] = present
      .filter(row => row.values[index] === target)
      .map(row => row.version.version);
  });
  return { columns, rows, best };
}
