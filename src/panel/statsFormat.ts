/**
 * Display of deployment and drift numbers (null → "—").
 */

/** 1234 → "1,234". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) {
    return '—';
  }
  return Math.round(value).toLocaleString('en-US');
}

/** 0.0123 → "1.2 %"; 0 → "0 %". */
export function formatPercent(
  value: number | null | undefined,
  digits = 1
): string {
  if (value === null || value === undefined || !isFinite(value)) {
    return '—';
  }
  const pct = value * 100;
  if (pct === 0) {
    return '0 %';
  }
  return `${Number(pct.toFixed(digits))} %`;
}

/** Milliseconds: "0.84 ms", "12.3 ms", "1,204 ms". */
export function formatMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) {
    return '—';
  }
  if (value < 1) {
    return `${value.toFixed(2)} ms`;
  }
  if (value < 100) {
    return `${value.toFixed(1)} ms`;
  }
  return `${Math.round(value).toLocaleString('en-US')} ms`;
}

/** Statistics and p-values: 4 significant digits, scientific below 1e-3. */
export function formatStat(value: number | null | undefined): string {
  if (value === null || value === undefined || !isFinite(value)) {
    return '—';
  }
  if (value !== 0 && Math.abs(value) < 1e-3) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(4)));
}
