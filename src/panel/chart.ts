/**
 * Scaling for the Drift tab's small SVG line chart (drift share over time).
 * Pure functions, so they can be tested without a DOM.
 */

/** A linear map of `[d0, d1]` onto `[r0, r1]`; a flat domain maps to the middle. */
export function linearScale(
  d0: number,
  d1: number,
  r0: number,
  r1: number
): (value: number) => number {
  if (!isFinite(d0) || !isFinite(d1) || d0 === d1) {
    const middle = (r0 + r1) / 2;
    return () => middle;
  }
  const k = (r1 - r0) / (d1 - d0);
  return value => r0 + (value - d0) * k;
}

export interface IChartBox {
  width: number;
  height: number;
  /** Space for axis labels: top, right, bottom, left. */
  margin: { top: number; right: number; bottom: number; left: number };
}

export interface ISeriesPoint<T> {
  x: number;
  y: number;
  datum: T;
}

export interface ISeriesLayout<T> {
  points: ISeriesPoint<T>[];
  /** SVG path of the line through the points ('' when there are none). */
  path: string;
  /** Horizontal grid lines: value and y position. */
  yTicks: { value: number; y: number }[];
  /** Time range actually shown (ms), null without valid times. */
  timeRange: [number, number] | null;
  plot: { left: number; right: number; top: number; bottom: number };
}

/**
 * Lay out a series of values in [0, 1] over time.
 *
 * x is the time of each datum (`time(d)`, ms since the epoch); when times are
 * missing or all equal, the points are spaced evenly in order instead. y is
 * the value on a fixed 0–1 axis (clamped), 0 at the bottom.
 */
export function layoutSeries<T>(
  data: T[],
  accessors: { time: (d: T) => number; value: (d: T) => number },
  box: IChartBox,
  yTickValues: number[] = [0, 0.5, 1]
): ISeriesLayout<T> {
  const plot = {
    left: box.margin.left,
    right: box.width - box.margin.right,
    top: box.margin.top,
    bottom: box.height - box.margin.bottom
  };
  const times = data.map(accessors.time);
  const valid = times.every(t => isFinite(t));
  const t0 = valid && times.length ? Math.min(...times) : NaN;
  const t1 = valid && times.length ? Math.max(...times) : NaN;
  const byTime = valid && t1 > t0;
  const xScale = byTime
    ? linearScale(t0, t1, plot.left, plot.right)
    : linearScale(0, Math.max(1, data.length - 1), plot.left, plot.right);
  const yScale = linearScale(0, 1, plot.bottom, plot.top);
  const points = data.map((datum, i) => {
    const raw = accessors.value(datum);
    const value = isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
    const x = data.length === 1 ? (plot.left + plot.right) / 2 : xScale(byTime ? times[i] : i);
    return { x: round(x), y: round(yScale(value)), datum };
  });
  const path = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`)
    .join(' ');
  return {
    points,
    path,
    yTicks: yTickValues.map(value => ({ value, y: round(yScale(value)) })),
    timeRange: valid && times.length ? [t0, t1] : null,
    plot
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
