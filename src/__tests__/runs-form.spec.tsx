import type { IParameterSpec } from '../api';
import {
  buildFields,
  coerceField,
  collectParameters,
  fieldKind,
  parseTags,
  parseTimeout
} from '../dialogs/parameterForm';
import { parameterInMessage } from '../dialogs/RunWithParameters';
import { parameterSpec } from './fixtures';

function spec(
  name: string,
  type: string,
  default_source: string,
  extra: Partial<IParameterSpec> = {}
): IParameterSpec {
  let value: unknown = default_source;
  try {
    value = JSON.parse(default_source.replace(/'/g, '"'));
  } catch {
    // an expression: the server sends its source text as the default
  }
  if (default_source === 'True' || default_source === 'False') {
    value = default_source === 'True';
  }
  if (default_source === 'None') {
    value = null;
  }
  return parameterSpec({ name, type, default: value, default_source, ...extra });
}

describe('fieldKind', () => {
  it('maps each server type to an input kind', () => {
    expect(fieldKind('int')).toBe('integer');
    expect(fieldKind('float')).toBe('number');
    expect(fieldKind('bool')).toBe('boolean');
    expect(fieldKind('str')).toBe('string');
    for (const type of ['list', 'dict', 'NoneType', 'any']) {
      expect(fieldKind(type)).toBe('json');
    }
  });
});

describe('buildFields', () => {
  it('keeps the order and turns defaults into the inputs’ initial text', () => {
    const fields = buildFields([
      spec('alpha', 'float', '0.5', { help: 'learning rate' }),
      spec('epochs', 'int', '3'),
      spec('verbose', 'bool', 'True'),
      spec('label', 'str', '"demo"'),
      spec('layers', 'list', '[64, 32]', { declared_type: 'List[int]' }),
      spec('extra', 'NoneType', 'None'),
      spec('path', 'any', 'DATA / "x.csv"')
    ]);
    expect(fields.map(f => [f.name, f.kind, f.initial])).toEqual([
      ['alpha', 'number', '0.5'],
      ['epochs', 'integer', '3'],
      ['verbose', 'boolean', 'true'],
      ['label', 'string', 'demo'],
      ['layers', 'json', '[64,32]'],
      ['extra', 'json', 'null'],
      ['path', 'json', 'DATA / "x.csv"']
    ]);
    expect(fields[0].help).toBe('learning rate');
    expect(fields[4].typeLabel).toBe('List[int]');
    expect(fields[1].typeLabel).toBe('int');
  });
});

describe('coerceField', () => {
  const [alpha, epochs, verbose, label, layers, options, extra] = buildFields([
    spec('alpha', 'float', '0.5'),
    spec('epochs', 'int', '3'),
    spec('verbose', 'bool', 'False'),
    spec('label', 'str', '"demo"'),
    spec('layers', 'list', '[1]'),
    spec('options', 'dict', '{}'),
    spec('extra', 'NoneType', 'None')
  ]);

  it('coerces numbers, integers and booleans', () => {
    expect(coerceField(alpha, ' 0.25 ')).toEqual({ ok: true, value: 0.25 });
    expect(coerceField(alpha, '1e-3')).toEqual({ ok: true, value: 0.001 });
    expect(coerceField(epochs, '7')).toEqual({ ok: true, value: 7 });
    expect(coerceField(epochs, '7.0')).toEqual({ ok: true, value: 7 });
    expect(coerceField(verbose, 'true')).toEqual({ ok: true, value: true });
  });

  it('refuses what does not fit, naming the parameter', () => {
    expect(coerceField(alpha, '')).toEqual({
      ok: false,
      error: 'alpha: expected a number, got ""'
    });
    expect(coerceField(alpha, 'abc')).toMatchObject({ ok: false });
    expect(coerceField(epochs, '2.5')).toEqual({
      ok: false,
      error: 'epochs: expected an integer, got "2.5"'
    });
    expect(coerceField(epochs, '99999999999999999999')).toMatchObject({ ok: false });
    expect(coerceField(verbose, 'maybe')).toMatchObject({ ok: false });
  });

  it('keeps strings as typed', () => {
    expect(coerceField(label, ' with spaces ')).toEqual({
      ok: true,
      value: ' with spaces '
    });
  });

  it('parses lists and dicts as JSON and checks the container type', () => {
    expect(coerceField(layers, '[64, 32]')).toEqual({ ok: true, value: [64, 32] });
    expect(coerceField(layers, '{"a": 1}')).toEqual({
      ok: false,
      error: 'layers: expected a JSON list, got "{\\"a\\": 1}"'
    });
    expect(coerceField(layers, '[1, 2')).toEqual({
      ok: false,
      error: 'layers: expected a JSON list, e.g. [1, 2], got "[1, 2"'
    });
    expect(coerceField(options, '{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(coerceField(options, '[1]')).toMatchObject({ ok: false });
  });

  it('accepts any JSON value for a parameter whose default is None', () => {
    expect(coerceField(extra, '0.5')).toEqual({ ok: true, value: 0.5 });
    expect(coerceField(extra, '"text"')).toEqual({ ok: true, value: 'text' });
    expect(coerceField(extra, 'text')).toMatchObject({ ok: false });
  });
});

describe('collectParameters', () => {
  const fields = buildFields([
    spec('alpha', 'float', '0.5'),
    spec('epochs', 'int', '3'),
    spec('path', 'any', 'DATA / "x.csv"')
  ]);

  it('sends only the changed fields, coerced', () => {
    expect(
      collectParameters(fields, { alpha: '0.25', epochs: '3', path: 'DATA / "x.csv"' })
    ).toEqual({ parameters: { alpha: 0.25 }, errors: {} });
    expect(collectParameters(fields, {})).toEqual({ parameters: {}, errors: {} });
  });

  it('reports every bad field', () => {
    const { parameters, errors } = collectParameters(fields, {
      alpha: 'x',
      epochs: '1.5',
      path: '"data/y.csv"'
    });
    expect(parameters).toEqual({ path: 'data/y.csv' });
    expect(Object.keys(errors).sort()).toEqual(['alpha', 'epochs']);
  });
});

describe('options', () => {
  it('parses the timeout', () => {
    expect(parseTimeout('')).toBeUndefined();
    expect(parseTimeout(' 60 ')).toBe(60);
    expect(parseTimeout('0')).toMatch(/^timeout: expected a positive number/);
    expect(parseTimeout('soon')).toMatch(/^timeout:/);
  });

  it('splits tags', () => {
    expect(parseTags(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseTags('')).toEqual([]);
  });
});

describe('parameterInMessage', () => {
  it("finds the parameter the server's 400 names", () => {
    expect(parameterInMessage("parameter 'alpha' expects float, got 'x'")).toBe('alpha');
    expect(
      parameterInMessage("unknown parameter 'beta' (this notebook's parameters: alpha)")
    ).toBe('beta');
    expect(parameterInMessage('notebook_path is required')).toBeNull();
  });
});
