#!/usr/bin/env node
// Checks every published package the way a consumer meets it:
//   1. publint --strict on the package folder,
//   2. attw --pack (types resolve for node10, node16 CJS/ESM and bundlers),
//   3. a smoke test: `pnpm pack` every package, install the tarballs with npm into a fresh project
//      outside the workspace, then load each one through ESM `import`, CJS `require`, and a
//      TypeScript file type-checked against the installed declarations.
// Run after `pnpm build`. Exits non-zero on the first failing check.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const keepTemp = process.argv.includes('--keep');

const packages = findPublishedPackages().filter(
  (pkg) => only.length === 0 || only.includes(pkg.name),
);
if (packages.length === 0) {
  console.error('check-packages: no published packages found');
  process.exit(1);
}

for (const pkg of packages) {
  for (const entry of Object.values(exportTargets(pkg))) {
    if (!existsSync(join(pkg.dir, entry))) {
      fail(`${pkg.name}: ${entry} is missing; run \`pnpm build\` first`);
    }
  }
  step(`publint --strict ${pkg.name}`);
  run(bin('publint'), ['--strict', pkg.dir]);
  step(`attw --pack ${pkg.name}`);
  // A package that ships only a CLI entry has no CJS consumers to serve.
  const attwArgs = pkg.json.savepointChecks?.attwProfile
    ? ['--profile', pkg.json.savepointChecks.attwProfile]
    : [];
  run(bin('attw'), ['--pack', pkg.dir, '--format', 'table-flipped', ...attwArgs]);
}

step('consumer smoke test');
const work = mkdtempSync(join(tmpdir(), 'savepoint-consumer-'));
try {
  smokeTest(work);
} finally {
  if (keepTemp) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
console.log(
  `check-packages: ${packages.length} packages passed publint, attw and the consumer smoke test`,
);

function smokeTest(dir) {
  const tarballs = join(dir, 'tarballs');
  const app = join(dir, 'app');
  mkdirSync(tarballs);
  mkdirSync(app);
  for (const pkg of packages) {
    run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: pkg.dir, quiet: true });
  }
  const files = readdirSync(tarballs).filter((file) => file.endsWith('.tgz'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...files.map((file) => join(tarballs, file)),
      '@types/node@20',
      `typescript@${readJson(join(root, 'node_modules', 'typescript', 'package.json')).version}`,
    ],
    { cwd: app },
  );

  const esm = [];
  const cjs = [];
  const ts = [];
  const cts = [];
  packages.forEach((pkg, n) => {
    const { main, json } = subpaths(pkg);
    if (main) {
      esm.push(
        `import * as m${n} from '${pkg.name}';`,
        `check('${pkg.name}', 'import', Object.keys(m${n}));`,
      );
      cjs.push(`check('${pkg.name}', 'require', Object.keys(require('${pkg.name}')));`);
    }
    for (const sub of json) {
      cjs.push(
        `check('${pkg.name}/${sub}', 'require', Object.keys(require('${pkg.name}/${sub}')));`,
      );
    }
    for (const [bin, target] of Object.entries(binEntries(pkg))) {
      cjs.push(`checkBin(${JSON.stringify(bin)}, ${JSON.stringify(target)});`);
    }
  });
  // The runtime key lists become TypeScript property reads, so a value exported at run time but
  // missing from the declarations (or the reverse) fails the type check.
  const keys = {};
  const esmFile = join(app, 'esm.mjs');
  writeFileSync(
    esmFile,
    [
      ...esm.filter((line) => line.startsWith('import')),
      'const seen = {};',
      'function check(name, how, keys) {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source code for the consumer project
      '  if (keys.length === 0) throw new Error(`${name}: ${how} gave a module with no exports`);',
      '  seen[name] = keys.filter((key) => key !== "default").sort();',
      '}',
      ...esm.filter((line) => !line.startsWith('import')),
      'console.log(JSON.stringify(seen));',
    ].join('\n'),
  );
  Object.assign(keys, JSON.parse(run('node', [esmFile], { cwd: app, capture: true })));

  writeFileSync(
    join(app, 'cjs.cjs'),
    [
      'const { execFileSync } = require("node:child_process");',
      `const esmKeys = ${JSON.stringify(keys)};`,
      'function check(name, how, keys) {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source code for the consumer project
      '  if (keys.length === 0) throw new Error(`${name}: ${how} gave a module with no exports`);',
      '  const expected = esmKeys[name];',
      '  const got = keys.filter((key) => key !== "default").sort();',
      '  if (expected && JSON.stringify(expected) !== JSON.stringify(got)) {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source code for the consumer project
      '    throw new Error(`${name}: require exports ${got} but import exports ${expected}`);',
      '  }',
      '}',
      'function checkBin(name, target) {',
      '  const out = execFileSync(require("node:path").join("node_modules", ".bin", name), ["--version"], { encoding: "utf8" });',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source code for the consumer project
      '  if (!/\\d+\\.\\d+\\.\\d+/.test(out)) throw new Error(`${name} --version printed ${out}`);',
      '}',
      ...cjs,
      'console.log("require: ok");',
    ].join('\n'),
  );
  run('node', ['cjs.cjs'], { cwd: app });

  packages.forEach((pkg, n) => {
    const names = keys[pkg.name];
    if (!names) return;
    ts.push(`import * as m${n} from '${pkg.name}';`);
    cts.push(`import m${n} = require('${pkg.name}');`);
    for (const key of names) {
      ts.push(`export const v${n}_${key}: unknown = m${n}.${key};`);
      cts.push(`export const v${n}_${key}: unknown = m${n}.${key};`);
    }
  });
  writeFileSync(join(app, 'consumer.mts'), `${ts.join('\n')}\n`);
  writeFileSync(join(app, 'consumer.cts'), `${cts.join('\n')}\n`);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: false,
        },
        files: ['consumer.mts', 'consumer.cts'],
      },
      null,
      2,
    ),
  );
  run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: app });
  console.log(`typescript: ${Object.keys(keys).length} entry points type-check as ESM and CJS`);
}

function findPublishedPackages() {
  const found = [];
  for (const group of ['packages', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const file = join(base, name, 'package.json');
      if (!existsSync(file)) continue;
      const json = readJson(file);
      if (json.private) continue;
      found.push({ name: json.name, dir: join(base, name), json });
    }
  }
  return found;
}

function subpaths(pkg) {
  const exports = pkg.json.exports ?? {};
  return {
    main: '.' in exports,
    json: Object.keys(exports)
      .filter((key) => key.endsWith('.json') && key !== './package.json')
      .map((key) => key.slice(2)),
  };
}

function exportTargets(pkg) {
  const targets = {};
  const walk = (value, key) => {
    if (typeof value === 'string') {
      if (!key.includes('@savepoint/source')) targets[key] = value;
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, `${key}/${k}`);
    }
  };
  walk(pkg.json.exports ?? {}, '');
  for (const [name, target] of Object.entries(binEntries(pkg))) targets[`bin/${name}`] = target;
  return targets;
}

function binEntries(pkg) {
  const binField = pkg.json.bin;
  if (!binField) return {};
  if (typeof binField === 'string') return { [pkg.name.split('/').pop()]: binField };
  return binField;
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function step(title) {
  console.log(`\n== ${title}`);
}

function run(command, args, { cwd = root, capture = false, quiet = false } = {}) {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: capture || quiet ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    });
  } catch (error) {
    fail(`${command} ${args.join(' ')} failed (exit ${error.status ?? error.signal})`);
  }
}

function fail(message) {
  console.error(`check-packages: ${message}`);
  process.exit(1);
}
