/**
 * Display helpers of pipeline runs (pure, unit-tested).
 */
import type { IPipelineRun, IPipelineStep } from '../api';

/** The order step states are counted in. */
const STATUS_ORDER = ['running', 'pending', 'succeeded', 'failed', 'cancelled', 'skipped'];

/** "2 succeeded · 1 failed · 1 skipped": how many steps are in each state. */
export function stepCounts(run: Pick<IPipelineRun, 'steps'>): string {
  const counts = new Map<string, number>();
  for (const step of run.steps) {
    counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([status, n]) => `${n} ${status}`)
    .join(' · ');
}

function rank(status: string): number {
  const i = STATUS_ORDER.indexOf(status);
  return i === -1 ? STATUS_ORDER.length : i;
}

/** "attempt 2 · 3 tries" for a step box ("1 try" in the singular). */
export function stepAttempts(step: Pick<IPipelineStep, 'attempt' | 'tries'>): string {
  const tries = `${step.tries} ${step.tries === 1 ? 'try' : 'tries'}`;
  return `attempt ${step.attempt} · ${tries}`;
}

/** The pipeline's name, or its file name without `.pipeline.yaml`. */
export function pipelineTitle(run: Pick<IPipelineRun, 'name' | 'pipeline_path'>): string {
  if (run.name) {
    return run.name;
  }
  const file = run.pipeline_path.split('/').pop() ?? run.pipeline_path;
  return file.replace(/\.pipeline\.yaml$/i, '') || file;
}
