// `jlpm check:api`: fail when the committed OpenAPI document (src/api/openapi.json) or the
// TypeScript types generated from it (src/api/schema.d.ts) differ from what the server's
// code generates now, so the server and the frontend's client cannot drift apart.
//
// It runs the same two steps as `jlpm generate:api`, into a temporary directory:
//   $PYTHON scripts/openapi.py <tmp>/openapi.json      (PYTHON defaults to `python`)
//   openapi-typescript <tmp>/openapi.json -o <tmp>/schema.d.ts --default-non-nullable false
// (`--default-non-nullable false`: a field the server defaults stays optional, `field?: T`, so a
// request body or query need not spell out what the server fills in; keep in step with
// package.json's `generate:api`.)
// and compares both files with the committed ones byte for byte.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.PYTHON || 'python';
const generator = join(root, 'node_modules', '.bin', 'openapi-typescript');
/** openapi-typescript's options, the same as `generate:api`'s in package.json. */
const GENERATOR_FLAGS = ['--default-non-nullable', 'false'];
const committed = {
  'openapi.json': join(root, 'src', 'api', 'openapi.json'),
  'schema.d.ts': join(root, 'src', 'api', 'schema.d.ts')
};

function run(command, args) {
  try {
    execFileSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    console.error(`check:api: \`${command} ${args.join(' ')}\` failed${output ? `:\n${output}` : ` (${err.message})`}`);
    if (command === python) {
      console.error(
        'check:api: the Python environment must import jupyterlab_mlops ' +
          '(an editable install, or PYTHONPATH=<repo>); set PYTHON to choose the interpreter.'
      );
    }
    process.exit(2);
  }
}

/** The first line where two texts differ, 1-based, with both versions of it. */
function firstDifference(expected, actual) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) {
      return { line: i + 1, generated: a[i] ?? '<end of file>', committed: b[i] ?? '<end of file>' };
    }
  }
  return null;
}

/** A line as a JSON string (whitespace visible), cut at 160 characters. */
function show(line) {
  const text = JSON.stringify(line);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

const scratch = mkdtempSync(join(tmpdir(), 'mlops-check-api-'));
try {
  const fresh = {
    'openapi.json': join(scratch, 'openapi.json'),
    'schema.d.ts': join(scratch, 'schema.d.ts')
  };
  run(python, [join('scripts', 'openapi.py'), fresh['openapi.json']]);
  run(generator, [fresh['openapi.json'], '-o', fresh['schema.d.ts'], ...GENERATOR_FLAGS]);

  const stale = [];
  for (const name of Object.keys(committed)) {
    const generated = readFileSync(fresh[name], 'utf8');
    if (!existsSync(committed[name])) {
      stale.push(`  src/api/${name} is missing`);
      continue;
    }
    const current = readFileSync(committed[name], 'utf8');
    const diff = firstDifference(generated, current);
    if (diff) {
      stale.push(
        `  src/api/${name} differs from what the server generates, first at line ${diff.line}:\n` +
          `    generated: ${show(diff.generated)}\n` +
          `    committed: ${show(diff.committed)}`
      );
    }
  }
  if (stale.length > 0) {
    console.error(
      'check:api: the frontend\'s API types are out of date with the server\'s OpenAPI document.\n' +
        stale.join('\n') +
        '\nRun `jlpm generate:api` and commit src/api/openapi.json and src/api/schema.d.ts ' +
        '(then fix what no longer type-checks: `jlpm build:lib`, `jlpm test`).'
    );
    process.exit(1);
  }
  console.log('check:api: src/api/openapi.json and src/api/schema.d.ts match the server.');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
