/**
 * Small display helpers shared by the tabs.
 */

/**
 * "12 s ago", "5 min ago", "3 h ago", "2 d ago", else the date.
 *
 * @param iso ISO-8601 time, or null.
 * @param now Reference time (for tests).
 */
export function formatRelativeTime(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
  if (!iso) {
    return '—';
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    return iso;
  }
  const seconds = Math.round((now - t) / 1000);
  if (seconds < 0) {
    return new Date(t).toLocaleString();
  }
  if (seconds < 60) {
    return `${seconds} s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)} h ago`;
  }
  if (seconds < 7 * 86400) {
    return `${Math.floor(seconds / 86400)} d ago`;
  }
  return new Date(t).toLocaleDateString();
}

/** Full local time for tooltips. */
export function formatAbsoluteTime(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleString();
}

/** "0.4 s", "42 s", "3 min 5 s", "1 h 2 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '—';
  }
  if (seconds < 10) {
    return `${Math.round(seconds * 10) / 10} s`;
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Metric values with at most 4 significant digits. */
export function formatMetric(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return String(value);
    }
    return Number(value.toPrecision(4)).toString();
  }
  return String(value);
}

/** The last path segment (notebook file name). */
export function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}

/**
 * "in 45 s", "in 12 min", "in 5 h", "in 3 d" for a time ahead (a schedule's
 * next fire), "now" when it has come, else the date.
 *
 * @param iso ISO-8601 time, or null.
 * @param now Reference time (for tests).
 */
export function formatUntil(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
  if (!iso) {
    return '—';
  }
  const t = Date.parse(iso);
  if (Number.isNaN(t)) {
    return iso;
  }
  const seconds = Math.round((t - now) / 1000);
  if (seconds <= 0) {
    return 'now';
  }
  if (seconds < 60) {
    return `in ${seconds} s`;
  }
  if (seconds < 3600) {
    return `in ${Math.round(seconds / 60)} min`;
  }
  if (seconds < 86400) {
    return `in ${Math.round(seconds / 3600)} h`;
  }
  if (seconds < 7 * 86400) {
    return `in ${Math.round(seconds / 86400)} d`;
  }
  return new Date(t).toLocaleDateString();
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** "200 MiB", "1.5 GiB" (as the server's `format_bytes`); "—" when unknown. */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined || !isFinite(size)) {
    return '—';
  }
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded} ${BYTE_UNITS[unit]}`;
}
