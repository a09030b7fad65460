/**
 * The "Run with parameters" form, as data: one field per detected parameter, its input
 * kind from the parameter's type, its initial text from the default, and the coercion of
 * what the user typed back to a JSON value (the server coerces again and has the last word).
 *
 * Only fields the user changed are sent: the others keep the notebook's own defaults, which
 * matters for defaults that are expressions rather than literals (`path = DATA / "x.csv"`).
 */
import { IParameterSpec } from '../api';

/** How a field is edited. */
export type FieldKind = 'integer' | 'number' | 'boolean' | 'string' | 'json';

/** One input of the form. */
export interface IFormField {
  name: string;
  kind: FieldKind;
  /** The parameter's type as the server reported it (`int`, `List[int]`, …). */
  typeLabel: string;
  /** Initial text of the input (`'true'`/`'false'` for booleans). */
  initial: string;
  help: string;
  /** The default as written in the notebook. */
  defaultSource: string;
}

/** Result of reading a field: a value, or an error naming the parameter. */
export type Coerced = { ok: true; value: unknown } | { ok: false; error: string };

/** The input kind for a parameter type. */
export function fieldKind(type: string): FieldKind {
  switch (type) {
    case 'int':
      return 'integer';
    case 'float':
      return 'number';
    case 'bool':
      return 'boolean';
    case 'str':
      return 'string';
    default:
      // list, dict, NoneType (default None) and any: typed as JSON text.
      return 'json';
  }
}

/** The text an input starts with, from the parameter's default. */
export function initialText(spec: IParameterSpec, kind: FieldKind): string {
  const value = spec.default;
  switch (kind) {
    case 'boolean':
      return value === true ? 'true' : 'false';
    case 'integer':
    case 'number':
      return typeof value === 'number' ? String(value) : spec.default_source;
    case 'string':
      return typeof value === 'string' ? value : spec.default_source;
    case 'json':
      if (spec.default_source.trim() === 'None') {
        return 'null';
      }
      // A literal default is JSON already; an expression stays as written.
      return isLiteral(spec) ? JSON.stringify(value) : spec.default_source;
  }
}

/** The text of a value a run was given (to pre-fill "Run again…"). */
export function valueText(value: unknown, kind: FieldKind): string {
  switch (kind) {
    case 'boolean':
      return value === true ? 'true' : 'false';
    case 'integer':
    case 'number':
      return String(value);
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'json':
      return JSON.stringify(value);
  }
}

/**
 * The form as a run was submitted: its parameters (those the notebook still declares),
 * timeout and tags.
 */
export function formStateOf(
  fields: ReadonlyArray<IFormField>,
  run: {
    parameters: Record<string, unknown>;
    timeout_seconds: number | null;
    tags: string[];
  }
): { texts: Record<string, string>; timeout: string; tags: string } {
  const texts: Record<string, string> = {};
  for (const field of fields) {
    if (field.name in run.parameters) {
      texts[field.name] = valueText(run.parameters[field.name], field.kind);
    }
  }
  return {
    texts,
    timeout: run.timeout_seconds ? String(run.timeout_seconds) : '',
    tags: run.tags.join(', ')
  };
}

/** Whether the server could turn the default's source into a JSON value. */
function isLiteral(spec: IParameterSpec): boolean {
  return !(
    typeof spec.default === 'string' && spec.default === spec.default_source
  );
}

/** The form's fields, in the order of the parameters cell. */
export function buildFields(parameters: IParameterSpec[]): IFormField[] {
  return parameters.map(spec => {
    const kind = fieldKind(spec.type);
    return {
      name: spec.name,
      kind,
      typeLabel: spec.declared_type || spec.type,
      initial: initialText(spec, kind),
      help: spec.help,
      defaultSource: spec.default_source
    };
  });
}

/**
 * What the user typed, as the JSON value to send.
 *
 * @returns `{ok: false, error}` with a message naming the parameter when the text does
 *   not fit the type (an integer that is not whole, list text that is not a JSON list, …).
 */
export function coerceField(field: IFormField, text: string): Coerced {
  const trimmed = text.trim();
  const fail = (expected: string): Coerced => ({
    ok: false,
    error: `${field.name}: expected ${expected}, got ${JSON.stringify(text)}`
  });
  switch (field.kind) {
    case 'integer': {
      if (!/^[-+]?\d+(\.0*)?$/.test(trimmed)) {
        return fail('an integer');
      }
      const value = Number(trimmed);
      return Number.isSafeInteger(value) ? { ok: true, value } : fail('an integer');
    }
    case 'number': {
      const value = trimmed === '' ? NaN : Number(trimmed);
      return Number.isFinite(value) ? { ok: true, value } : fail('a number');
    }
    case 'boolean':
      if (trimmed === 'true' || trimmed === 'false') {
        return { ok: true, value: trimmed === 'true' };
      }
      return fail('true or false');
    case 'string':
      return { ok: true, value: text };
    case 'json': {
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch {
        return fail(jsonExpectation(field.typeLabel));
      }
      if (field.typeLabel.startsWith('list') || field.typeLabel.startsWith('List')) {
        return Array.isArray(value) ? { ok: true, value } : fail('a JSON list');
      }
      if (field.typeLabel.startsWith('dict') || field.typeLabel.startsWith('Dict')) {
        return isObject(value) ? { ok: true, value } : fail('a JSON object');
      }
      return { ok: true, value };
    }
  }
}

function jsonExpectation(typeLabel: string): string {
  if (typeLabel.startsWith('list') || typeLabel.startsWith('List')) {
    return 'a JSON list, e.g. [1, 2]';
  }
  if (typeLabel.startsWith('dict') || typeLabel.startsWith('Dict')) {
    return 'a JSON object, e.g. {"a": 1}';
  }
  return 'a JSON value (number, "text", true, null, [..], {..})';
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `parameters` of `POST runs`: the changed fields, coerced.
 *
 * @param fields The form's fields.
 * @param texts Current text per field name (missing = unchanged).
 * @returns The parameters, or the errors (one per bad field).
 */
export function collectParameters(
  fields: IFormField[],
  texts: Record<string, string>
): { parameters: Record<string, unknown>; errors: Record<string, string> } {
  const parameters: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const text = texts[field.name];
    if (text === undefined || text === field.initial) {
      continue;
    }
    const result = coerceField(field, text);
    if (result.ok) {
      parameters[field.name] = result.value;
    } else {
      errors[field.name] = result.error;
    }
  }
  return { parameters, errors };
}

/**
 * Optional timeout field: empty = the server's default.
 *
 * @returns seconds, `undefined` for empty, or an error message.
 */
export function parseTimeout(text: string): number | undefined | string {
  const trimmed = text.trim();
  if (!trimmed) {
    return undefined;
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value <= 0) {
    return `timeout: expected a positive number of seconds, got ${JSON.stringify(text)}`;
  }
  return value;
}

/** Comma-separated tags → list (blank items dropped). */
export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map(tag => tag.trim())
    .filter(tag => tag.length > 0);
}

/** The parameter a server error names (`parameter 'alpha' expects float, …`), if any. */
export function parameterInMessage(message: string): string | null {
  const match = /\bparameter '([^']+)'/.exec(message);
  return match ? match[1] : null;
}
