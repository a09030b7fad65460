/**
 * Typed factories of what the server answers, for the jest suites' fake servers.
 *
 * Each factory returns a complete resource typed by the API client's own type
 * (`src/api`), with plausible defaults; a test overrides only what it is about.
 * A field renamed or retyped in the client (and, once the types are generated
 * from the server's OpenAPI document, on the server) breaks these factories at
 * compile time instead of leaving a stale hand-typed fixture behind.
 */
import type {
  IAlert,
  IAliasMove,
  IAuditEntry,
  IDeployJob,
  IDeployment,
  IDeploymentWithStats,
  IDeployStep,
  IDriftColumn,
  IDriftResult,
  IErrorBody,
  IHealth,
  ILabNotification,
  IModelVersion,
  IModelVersionDetail,
  IMonitor,
  INotebookParameters,
  IPage,
  IParameterSpec,
  IPipelineRun,
  IPipelineStep,
  IPromotion,
  IRun,
  IRunDetail,
  ISchedule,
  IScheduleFire,
  ISignatureInput
} from '../api';

const EPOCH = '2026-01-01T00:00:00+00:00';

/** One page holding `items` (`total` defaults to their number). */
export function page<T>(
  items: T[],
  extra: Partial<Omit<IPage<T>, 'items'>> = {}
): IPage<T> {
  return { items, total: items.length, offset: 0, limit: 50, ...extra };
}

/** The API's error body (`{"error": {"code", "message", "details"}}`). */
export function errorBody(
  code: string,
  message: string,
  details: IErrorBody['error']['details'] = null
): IErrorBody {
  return { error: { code, message, details } };
}

export function health(overrides: Partial<IHealth> = {}): IHealth {
  return {
    version: '0.1.0',
    store: { kind: 'sqlite', url: 'sqlite:///mlops.db', revision: '0002' },
    artifact_root: '/tmp/artifacts',
    counts: { runs: 0, models: 0, deployments: 0 },
    scheduler: { running: true, jobs: [] },
    ...overrides
  };
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

export function run(overrides: Partial<IRun> = {}): IRun {
  return {
    id: 'r1',
    kind: 'batch',
    notebook_path: 'work/train.ipynb',
    status: 'succeeded',
    status_reason: null,
    parameters: {},
    parameters_truncated: false,
    kernel_name: 'python3',
    timeout_seconds: null,
    tags: [],
    input_files: [],
    trigger: 'user',
    trigger_details: {},
    schedule_id: null,
    reproduces_run_id: null,
    group_id: null,
    created_by: 'me',
    created_at: EPOCH,
    started_at: null,
    finished_at: null,
    duration_seconds: null,
    executor: 'local',
    host: null,
    pid: null,
    progress: { cells_done: 0, cells_total: 0, current_cell: null },
    error: null,
    input_notebook_sha256: null,
    output_notebook_sha256: null,
    output_notebook_path: null,
    metrics: {},
    memory_limit_bytes: null,
    cpus: null,
    peak_memory_bytes: null,
    cpu_seconds: null,
    ...overrides
  };
}

export function runDetail(overrides: Partial<IRunDetail> = {}): IRunDetail {
  return {
    ...run(),
    provenance: {},
    comparison: null,
    metric_history: [],
    logged_params: {},
    outputs: {},
    artifacts: [],
    ...overrides
  };
}

export function parameterSpec(
  overrides: Partial<IParameterSpec> & Pick<IParameterSpec, 'name'>
): IParameterSpec {
  return {
    type: 'any',
    declared_type: null,
    default: null,
    default_source: 'None',
    help: '',
    ...overrides
  };
}

export function notebookParameters(
  overrides: Partial<INotebookParameters> = {}
): INotebookParameters {
  return {
    path: 'train.ipynb',
    has_parameters_cell: true,
    parameters_cell_index: 1,
    parameters: [],
    kernel_name: 'python3',
    kernel_display_name: 'Python 3',
    language: 'python',
    hint: null,
    ...overrides
  };
}

// ---------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------

export function modelVersion(
  overrides: Partial<IModelVersion> = {}
): IModelVersion {
  return {
    name: 'churn',
    version: 1,
    artifact_sha256: 'a'.repeat(64),
    artifact_size: 10,
    serialization: 'skops',
    flavour: 'sklearn',
    model_class: 'LogisticRegression',
    metrics: {},
    params: {},
    tags: {},
    description: null,
    run_id: null,
    archived: false,
    aliases: [],
    created_by: 'me',
    created_at: EPOCH,
    ...overrides
  };
}

export function modelVersionDetail(
  overrides: Partial<IModelVersionDetail> = {}
): IModelVersionDetail {
  return {
    ...modelVersion(),
    trusted_types: [],
    signature: { input_type: 'dataframe', inputs: [], output: null },
    profile: {},
    environment: {},
    ...overrides
  };
}

/** One input column of a signature. */
export function signatureColumn(
  overrides: Partial<ISignatureInput> & Pick<ISignatureInput, 'name'>
): ISignatureInput {
  return { dtype: 'float64', kind: 'numeric', nullable: false, ...overrides };
}

export function auditEntry(overrides: Partial<IAuditEntry> = {}): IAuditEntry {
  return {
    id: 1,
    model_name: 'churn',
    action: 'set_alias',
    alias: 'production',
    from_version: 1,
    to_version: 2,
    reason: '',
    forced: false,
    details: {},
    user: 'me',
    created_at: EPOCH,
    ...overrides
  };
}

export function aliasMove(overrides: Partial<IAliasMove> = {}): IAliasMove {
  return {
    name: 'churn',
    alias: 'production',
    version: 1,
    previous_version: null,
    ...overrides
  };
}

export function promotion(overrides: Partial<IPromotion> = {}): IPromotion {
  return { ...aliasMove(), changed: true, forced: false, gate: null, ...overrides };
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

export function deployment(overrides: Partial<IDeployment> = {}): IDeployment {
  return {
    id: 'dep1',
    name: 'churn-local',
    model: 'churn',
    model_ref: 'churn@production',
    follows_alias: 'production',
    version: 1,
    target: 'local',
    status: 'running',
    status_reason: null,
    url: 'http://127.0.0.1:8123',
    port: 8123,
    pid: null,
    host: '127.0.0.1',
    image: null,
    container_id: null,
    context_dir: null,
    log_path: null,
    prediction_log: null,
    manifest_path: null,
    bundle_dir: '/tmp/artifacts/bundles/dep1',
    challenger_version: null,
    challenger_bundle_dir: null,
    config: {},
    created_by: 'me',
    created_at: EPOCH,
    updated_at: EPOCH,
    ...overrides
  };
}

/** A deployment as `GET deployments/{id}` answers: with its traffic statistics. */
export function deploymentWithStats(
  overrides: Partial<IDeploymentWithStats> = {}
): IDeploymentWithStats {
  return {
    ...deployment(),
    stats: {
      predictions: 0,
      requests: null,
      errors: null,
      error_rate: null,
      p50_ms: null,
      p99_ms: null,
      source: 'prediction_log'
    },
    ...overrides
  };
}

export function deployStep(
  overrides: Partial<IDeployStep> & Pick<IDeployStep, 'name'>
): IDeployStep {
  return {
    status: 'pending',
    detail: '',
    started_at: null,
    finished_at: null,
    ...overrides
  };
}

/** A running job with its four steps pending. */
export function deployJob(overrides: Partial<IDeployJob> = {}): IDeployJob {
  return {
    id: 'job1',
    notebook_path: 'train.ipynb',
    parameters: {},
    target: 'local',
    status: 'running',
    steps: ['run', 'register', 'serve', 'healthy'].map(name =>
      deployStep({ name })
    ),
    run_id: null,
    model: null,
    version: null,
    deployment_id: null,
    url: null,
    curl: null,
    error: null,
    created_by: 'me',
    created_at: '2026-01-01T00:00:00Z',
    finished_at: null,
    ...overrides
  };
}

// ---------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------

export function monitor(overrides: Partial<IMonitor> = {}): IMonitor {
  return {
    id: 'mon1',
    deployment_id: 'dep1',
    deployment_name: 'churn-local',
    model_ref: 'churn@production',
    model_name: 'churn',
    model_version: 1,
    deployment_status: 'running',
    status: 'ok',
    enabled: true,
    interval_seconds: 3600,
    last_checked_at: null,
    drift_share: null,
    drifted: null,
    latest_result_id: null,
    open_alerts: 0,
    config: {},
    created_by: 'me',
    created_at: EPOCH,
    ...overrides
  };
}

export function driftResult(overrides: Partial<IDriftResult> = {}): IDriftResult {
  return {
    id: 1,
    monitor_id: 'mon1',
    deployment_id: 'dep1',
    model_name: 'churn',
    model_version: 1,
    window_start: null,
    window_end: null,
    n_rows: 100,
    drift_share: 0,
    drifted: false,
    n_drifted: 0,
    drifted_columns: [],
    performance: {},
    created_at: EPOCH,
    ...overrides
  };
}

export function driftColumn(
  overrides: Partial<IDriftColumn> & Pick<IDriftColumn, 'column'>
): IDriftColumn {
  return {
    kind: 'numeric',
    method: 'ks',
    statistic: null,
    p_value: null,
    threshold: null,
    drifted: false,
    reference_missing_rate: null,
    current_missing_rate: null,
    missing_rate_change: null,
    reference_mean: null,
    current_mean: null,
    mean_shift_pct: null,
    new_categories: [],
    new_category_share: null,
    n_reference: null,
    n_current: null,
    ks_statistic: null,
    ks_p_value: null,
    wasserstein: null,
    psi: null,
    chi2_statistic: null,
    chi2_p_value: null,
    jensenshannon: null,
    approximate: false,
    note: '',
    ...overrides
  };
}

export function alert(overrides: Partial<IAlert> = {}): IAlert {
  return {
    id: 1,
    monitor_id: 'mon1',
    deployment_id: 'dep1',
    deployment_name: 'churn-local',
    drift_result_id: null,
    rule: 'drift_share',
    severity: 'warning',
    message: 'drift detected',
    details: {},
    acknowledged: false,
    retrain_run_id: null,
    delivered: {},
    created_at: EPOCH,
    ...overrides
  };
}

// ---------------------------------------------------------------------------
// Continuous training: schedules, pipeline runs, lab notifications
// ---------------------------------------------------------------------------

/** An active daily schedule of `train.ipynb` at 06:00 Paris time. */
export function schedule(overrides: Partial<ISchedule> = {}): ISchedule {
  return {
    id: 'sch1',
    name: 'nightly',
    target_kind: 'notebook',
    target_path: 'work/train.ipynb',
    parameters: {},
    kernel_name: null,
    timeout: null,
    cron: '0 6 * * *',
    timezone: 'Europe/Paris',
    description: 'At 06:00 (Europe/Paris)',
    overlap: 'skip',
    catch_up: 'none',
    active: true,
    end_at: null,
    notify: {},
    next_fire_at: '2026-01-02T06:00:00+01:00',
    last_fire_at: null,
    last_fire: null,
    last_status: null,
    created_by: 'me',
    created_at: EPOCH,
    updated_at: EPOCH,
    ...overrides
  };
}

export function scheduleFire(overrides: Partial<IScheduleFire> = {}): IScheduleFire {
  return {
    fire_time: '2026-01-01T06:00:00+01:00',
    status: 'submitted',
    reason: null,
    run_id: 'r1',
    pipeline_run_id: null,
    manual: false,
    ...overrides
  };
}

export function pipelineStep(
  overrides: Partial<IPipelineStep> & Pick<IPipelineStep, 'name'>
): IPipelineStep {
  return {
    notebook: `${overrides.name}.ipynb`,
    depends_on: [],
    status: 'pending',
    run_id: null,
    attempt: 1,
    tries: 0,
    reused: false,
    outputs: {},
    error: null,
    started_at: null,
    finished_at: null,
    previous_runs: [],
    ...overrides
  };
}

/** A failed run of prepare → train → evaluate whose middle step failed. */
export function pipelineRun(overrides: Partial<IPipelineRun> = {}): IPipelineRun {
  return {
    id: 'pr1',
    pipeline_path: 'flows/churn.pipeline.yaml',
    name: 'churn',
    status: 'failed',
    attempt: 1,
    parameters: {},
    trigger: 'user',
    schedule_id: null,
    error: "step 'train' failed",
    created_by: 'me',
    created_at: EPOCH,
    updated_at: EPOCH,
    finished_at: EPOCH,
    steps: [
      pipelineStep({ name: 'prepare', status: 'succeeded', run_id: 'r1', tries: 1 }),
      pipelineStep({
        name: 'train',
        depends_on: ['prepare'],
        status: 'failed',
        run_id: 'r2',
        tries: 1,
        error: 'ValueError: bad data'
      }),
      pipelineStep({ name: 'evaluate', depends_on: ['train'], status: 'skipped' })
    ],
    ...overrides
  };
}

export function labNotification(overrides: Partial<ILabNotification> = {}): ILabNotification {
  return {
    id: 1,
    kind: 'run',
    level: 'error',
    title: 'Run failed: scheduled run of train.ipynb',
    message: 'ValueError: bad data',
    link: { run_id: 'r1', schedule_id: 'sch1' },
    created_at: EPOCH,
    ...overrides
  };
}
