/**
 * The ids of the plugin's commands, in one place: the side panel's tabs, the
 * main-area views and the notifications run them by id (no import of index.ts,
 * which would be circular).
 */
export namespace CommandIDs {
  /** Show the side panel; args `{tab, id}` (e.g. `{tab: 'runs', id: runId}`). */
  export const openPanel = 'mlops:open-panel';
  /** Re-fetch the visible list of the side panel now. */
  export const refresh = 'mlops:refresh';
  /** One schedule's history (its fires and runs) in a main-area tab; args `{id}`. */
  export const openSchedule = 'mlops:open-schedule';
  /** A pipeline run's DAG in a main-area tab; args `{id}`. */
  export const openPipelineRun = 'mlops:open-pipeline-run';
  /** Start a pipeline run of a `*.pipeline.yaml`; args `{path}` (default: the file browser's selection). */
  export const runPipeline = 'mlops:run-pipeline';
}
