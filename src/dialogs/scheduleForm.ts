/**
 * The schedule part of the "Schedule…" and "Edit schedule" dialogs, as data:
 * what the user typed (cron, time zone, overlap, catch-up, name), the checks
 * made before asking the server (a 5-field cron, a zone), and the request body.
 *
 * The server has the last word: it parses the cron with croniter and the zone
 * with zoneinfo, and answers a 400 naming the field (`details.field`), which
 * the dialogs show next to that field.
 */
import type {
  CatchUpPolicy,
  ISchedule,
  IScheduleCreate,
  IScheduleUpdate,
  OverlapPolicy
} from '../api';

/** Everything the user can type about when and how a notebook runs. */
export interface IScheduleFormState {
  /** Empty: the server names it after the notebook. */
  name: string;
  cron: string;
  timezone: string;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
}

/** The fields of {@link IScheduleFormState} by the name the server gives them in a 400. */
export const SCHEDULE_FIELDS = ['name', 'cron', 'timezone', 'overlap', 'catch_up'] as const;
export type ScheduleField = (typeof SCHEDULE_FIELDS)[number];

/** The names of the five cron fields, in order. */
export const CRON_FIELD_NAMES = [
  'minute',
  'hour',
  'day of month',
  'month',
  'day of week'
] as const;

/** Cron examples offered next to the cron field. */
export const CRON_EXAMPLES: ReadonlyArray<{ cron: string; label: string }> = [
  { cron: '0 6 * * *', label: 'every day at 06:00' },
  { cron: '0 * * * *', label: 'every hour' },
  { cron: '*/15 * * * *', label: 'every 15 minutes' },
  { cron: '0 6 * * 1', label: 'every Monday at 06:00' },
  { cron: '0 6 1 * *', label: 'on the 1st of every month at 06:00' }
];

/** The browser's IANA time zone (`Intl`), `UTC` when it cannot tell. */
export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** The zone a new schedule starts with: the `defaultTimezone` setting, else the browser's. */
export function initialTimezone(setting: string | null | undefined): string {
  const zone = (setting ?? '').trim();
  return zone || browserTimezone();
}

/** The form's state for a new schedule. */
export function newScheduleState(timezoneSetting?: string | null): IScheduleFormState {
  return {
    name: '',
    cron: '',
    timezone: initialTimezone(timezoneSetting),
    overlap: 'skip',
    catchUp: 'none'
  };
}

/** The form's state showing an existing schedule. */
export function scheduleState(schedule: ISchedule): IScheduleFormState {
  return {
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    overlap: schedule.overlap,
    catchUp: schedule.catch_up
  };
}

/** The cron expression's fields (split on white space). */
export function cronFields(cron: string): string[] {
  const trimmed = cron.trim();
  return trimmed ? trimmed.split(/\s+/) : [];
}

/**
 * What is obviously wrong before asking the server, per field.
 *
 * @returns `{cron: "cron: expected 5 fields …"}`-style messages; empty when fine.
 */
export function validateSchedule(state: IScheduleFormState): Partial<Record<ScheduleField, string>> {
  const errors: Partial<Record<ScheduleField, string>> = {};
  const fields = cronFields(state.cron);
  if (fields.length === 0) {
    errors.cron = 'cron: required, e.g. "0 6 * * *" (every day at 06:00)';
  } else if (fields.length !== 5) {
    errors.cron =
      `cron: expected 5 fields (${CRON_FIELD_NAMES.join(', ')}), ` +
      `got ${fields.length}: ${JSON.stringify(state.cron.trim())}`;
  }
  if (!state.timezone.trim()) {
    errors.timezone = 'timezone: required, an IANA name such as "Europe/Paris"';
  }
  return errors;
}

/** The cron as the server gets it: single spaces between the fields. */
export function normalizedCron(cron: string): string {
  return cronFields(cron).join(' ');
}

/**
 * `POST schedules` body for `notebook_path` with the form's schedule and the
 * run's parameters / timeout.
 */
export function createScheduleBody(
  notebookPath: string,
  state: IScheduleFormState,
  run: { parameters: Record<string, unknown>; timeout?: number }
): IScheduleCreate {
  const body: IScheduleCreate = {
    notebook_path: notebookPath,
    parameters: run.parameters,
    cron: normalizedCron(state.cron),
    timezone: state.timezone.trim(),
    overlap: state.overlap,
    catch_up: state.catchUp
  };
  if (state.name.trim()) {
    body.name = state.name.trim();
  }
  if (run.timeout !== undefined) {
    body.timeout = run.timeout;
  }
  return body;
}

/**
 * `PATCH schedules/{id}` body: only what differs from `schedule` (and the
 * parameters when given and changed).
 */
export function updateScheduleBody(
  schedule: ISchedule,
  state: IScheduleFormState,
  parameters?: Record<string, unknown>
): IScheduleUpdate {
  const body: IScheduleUpdate = {};
  const cron = normalizedCron(state.cron);
  if (cron !== schedule.cron) {
    body.cron = cron;
  }
  const timezone = state.timezone.trim();
  if (timezone !== schedule.timezone) {
    body.timezone = timezone;
  }
  if (state.overlap !== schedule.overlap) {
    body.overlap = state.overlap;
  }
  if (state.catchUp !== schedule.catch_up) {
    body.catch_up = state.catchUp;
  }
  const name = state.name.trim();
  if (name && name !== schedule.name) {
    body.name = name;
  }
  if (parameters && JSON.stringify(parameters) !== JSON.stringify(schedule.parameters)) {
    body.parameters = parameters;
  }
  return body;
}

/** The form field a server error is about: `catch_up` → the catch-up select, etc. */
export function scheduleFieldOf(field: string | null): ScheduleField | null {
  return field && (SCHEDULE_FIELDS as ReadonlyArray<string>).includes(field)
    ? (field as ScheduleField)
    : null;
}
