import {
  DefaultSchemaValidator,
  ISettingRegistry
} from '@jupyterlab/settingregistry';
import { PartialJSONObject } from '@lumino/coreutils';
import { readFileSync } from 'fs';
import { join } from 'path';

const schema = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'schema', 'plugin.json'), 'utf8')
) as ISettingRegistry.ISchema;

/** Validate `raw` user settings against the plugin's schema, as the registry does. */
function validate(raw: string): {
  errors: unknown[] | null;
  composite: PartialJSONObject;
} {
  const plugin: ISettingRegistry.IPlugin = {
    id: 'jupyterlab-mlops:plugin',
    schema,
    raw,
    data: { composite: {}, user: {} },
    version: 'test'
  };
  const errors = new DefaultSchemaValidator().validateData(plugin);
  return { errors, composite: plugin.data.composite };
}

describe('settings schema', () => {
  it('offers the settings that are read, and no longer defaultExecutor', () => {
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([
      'defaultDeployTarget',
      'defaultTimezone',
      'refreshInterval'
    ]);
  });

  it('still loads user settings written with the removed defaultExecutor', () => {
    const { errors, composite } = validate(
      '{"defaultExecutor": "dask", "refreshInterval": 2}'
    );
    expect(errors).toBeNull();
    expect(composite.refreshInterval).toBe(2);
    expect(composite.defaultDeployTarget).toBe('local');
    expect(composite.defaultTimezone).toBe('');
  });

  it('takes a time zone name for new schedules', () => {
    const { errors, composite } = validate('{"defaultTimezone": "Europe/Paris"}');
    expect(errors).toBeNull();
    expect(composite.defaultTimezone).toBe('Europe/Paris');
    expect(validate('{"defaultTimezone": 2}').errors).not.toBeNull();
  });

  it('refuses unknown settings', () => {
    const { errors } = validate('{"refreshIntervall": 2}');
    expect(errors).not.toBeNull();
  });
});
