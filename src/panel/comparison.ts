/**
 * A reproduction's environment differences as readable lines (pure, unit-tested).
 */
import { IComparison, IDictDiff } from '../api';
import { formatValue } from './runFormat';

/** The sections of `comparison.environment` that are `{key: {original, reproduced}}`. */
const SIMPLE_SECTIONS = ['python', 'kernel', 'platform'];

function dictLines(
  what: string,
  diff: IDictDiff<unknown> | undefined,
  short: (value: unknown) => string
): string[] {
  if (!diff) {
    return [];
  }
  const lines: string[] = [];
  for (const [key, value] of Object.entries(diff.changed ?? {})) {
    lines.push(`${what} ${key}: ${short(value.original)} → ${short(value.reproduced)}`);
  }
  for (const [key, value] of Object.entries(diff.added ?? {})) {
    lines.push(`${what} ${key} added (${short(value)})`);
  }
  for (const [key, value] of Object.entries(diff.removed ?? {})) {
    lines.push(`${what} ${key} removed (was ${short(value)})`);
  }
  return lines;
}

const text = (value: unknown): string =>
  typeof value === 'string' ? value : formatValue(value, 60);
const hash = (value: unknown): string =>
  typeof value === 'string' ? value.slice(0, 12) : text(value);

/**
 * One line per environment difference between the original run and its reproduction:
 * notebook content, git, packages, input data hashes, python/kernel/platform.
 */
export function environmentLines(env: IComparison['environment'] | undefined): string[] {
  if (!env) {
    return [];
  }
  const lines: string[] = [];
  if (env.notebook_sha256_equal === false) {
    lines.push('notebook sha256 differs');
  }
  for (const [key, value] of Object.entries(env.git ?? {})) {
    const short = key === 'commit' ? hash : text;
    lines.push(`git ${key}: ${short(value.original)} → ${short(value.reproduced)}`);
  }
  lines.push(...dictLines('package', env.packages, text));
  lines.push(...dictLines('input', env.inputs, hash));
  for (const section of SIMPLE_SECTIONS) {
    const changed = env[section] as
      | Record<string, { original: unknown; reproduced: unknown }>
      | undefined;
    for (const [key, value] of Object.entries(changed ?? {})) {
      lines.push(`${section} ${key}: ${text(value.original)} → ${text(value.reproduced)}`);
    }
  }
  return lines;
}
