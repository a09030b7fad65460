import * as React from 'react';

import type { IDriftResult } from '../api';
import { IChartBox, layoutSeries } from './chart';
import { formatPercent } from './statsFormat';

const BOX: IChartBox = {
  width: 320,
  height: 120,
  margin: { top: 8, right: 8, bottom: 18, left: 34 }
};

/** A check that measured a drift share (one that found too few rows has none). */
type ChartedResult = IDriftResult & { drift_share: number };

function resultTime(result: IDriftResult): number {
  // NaN without a time: the chart then spaces the checks evenly, in order.
  return Date.parse(result.window_end ?? result.created_at ?? '');
}

function hasShare(result: IDriftResult): result is ChartedResult {
  return result.drift_share !== null;
}

/**
 * Drift share of each stored check over time, as a small SVG line chart:
 * drifted checks as filled error-coloured dots, the 50 % dataset-drift line
 * dashed. Colours are JupyterLab theme variables (light and dark).
 */
export function DriftChart(props: {
  results: IDriftResult[];
  threshold?: number;
}): JSX.Element {
  const results = props.results.filter(hasShare);
  const threshold = props.threshold ?? 0.5;
  const layout = layoutSeries(
    results,
    { time: resultTime, value: r => r.drift_share },
    BOX,
    [0, threshold, 1]
  );
  const latest = results[results.length - 1];
  const label = latest
    ? `Drift share over ${results.length} checks; latest ${formatPercent(latest.drift_share, 0)}`
    : 'No drift checks yet';
  const { plot } = layout;
  return (
    <figure className="jp-mlops-drift-chart">
      <svg
        viewBox={`0 0 ${BOX.width} ${BOX.height}`}
        role="img"
        aria-label={label}
        preserveAspectRatio="xMidYMid meet"
      >
        <title>{label}</title>
        {layout.yTicks.map(tick => (
          <g key={tick.value} className="jp-mlops-chart-tick">
            <line
              x1={plot.left}
              x2={plot.right}
              y1={tick.y}
              y2={tick.y}
              className={
                tick.value === threshold && threshold !== 0 && threshold !== 1
                  ? 'jp-mlops-chart-threshold'
                  : 'jp-mlops-chart-grid'
              }
            />
            <text
              x={plot.left - 4}
              y={tick.y}
              dy="0.32em"
              textAnchor="end"
              className="jp-mlops-chart-label"
            >
              {Math.round(tick.value * 100)}%
            </text>
          </g>
        ))}
        {layout.path ? (
          <path d={layout.path} className="jp-mlops-chart-line" fill="none" />
        ) : null}
        {layout.points.map(point => (
          <circle
            key={point.datum.id}
            cx={point.x}
            cy={point.y}
            r={point.datum.drifted ? 3 : 2.5}
            className={
              point.datum.drifted
                ? 'jp-mlops-chart-point jp-mod-drifted'
                : 'jp-mlops-chart-point'
            }
          >
            <title>
              {`${new Date(resultTime(point.datum)).toLocaleString()}: ` +
                `${formatPercent(point.datum.drift_share, 0)} drifted ` +
                `(${point.datum.n_drifted} features, ${point.datum.n_rows} rows)`}
            </title>
          </circle>
        ))}
        {layout.timeRange ? (
          <>
            <text
              x={plot.left}
              y={BOX.height - 4}
              className="jp-mlops-chart-label"
            >
              {new Date(layout.timeRange[0]).toLocaleTimeString()}
            </text>
            <text
              x={plot.right}
              y={BOX.height - 4}
              textAnchor="end"
              className="jp-mlops-chart-label"
            >
              {new Date(layout.timeRange[1]).toLocaleTimeString()}
            </text>
          </>
        ) : null}
      </svg>
      <figcaption className="jp-mlops-chart-caption">{label}</figcaption>
    </figure>
  );
}
