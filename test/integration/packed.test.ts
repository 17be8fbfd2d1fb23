/**
 * The package the way a user meets it: `npm pack`, the tarball installed into
 * a temporary project offline (tfjs resolved from the copy already on disk),
 * then the README quick start run there with `require` and with `import`, and
 * a TypeScript file that uses the public types type-checked against it.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
// Inside the repository, so that Node finds @tensorflow/* in its node_modules one level up.
const project = path.join(ROOT, `.pack-test-${process.pid}`);
let tarball = '';
let files: string[] = [];

const sh = (cmd: string, args: string[], cwd: string) => {
  const r = cp.spawnSync(cmd, args, {cwd, encoding: 'utf8', timeout: 120000});
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

beforeAll(() => {
  fs.rmSync(project, {recursive: true, force: true});
  fs.mkdirSync(project);
  const packed = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], ROOT));
  tarball = path.join(project, packed[0].filename);
  files = packed[0].files.map((f: {path: string}) => f.path);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({name: 'user-project', version: '1.0.0', private: true}));
  // The package's own dependencies come packed from this checkout's node_modules (the versions npm ci installed),
  // so the offline install needs nothing from npm's cache: a fresh machine's cache holds no registry metadata.
  const deps = Object.keys(pkg.dependencies ?? {}).map((name) => {
    const out = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project],
      path.join(ROOT, 'node_modules', name)));
    return path.join(project, out[0].filename);
  });
  sh('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--legacy-peer-deps',
    '--no-package-lock', tarball, ...deps], project);
}, 180000);

afterAll(() => fs.rmSync(project, {recursive: true, force: true}));

test('the tarball holds the library, its command line and docs — no scripts, no tests', () => {
  expect(files).toContain('dist/index.js');
  expect(files).toContain('dist/index.d.ts');
  expect(files).toContain('dist/esm/index.js');
  expect(files).toContain('dist/node/index.mjs');
  expect(files).toContain('dist/keras/index.js');
  expect(files).toContain('dist/src/node_compat.js');
  expect(files).toContain('bin/tfjs-drop-path.js');
  expect(files.filter((f) => /^(scripts|test|examples|bench|docs)\//.test(f))).toEqual([]);
  for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts[hook]).toBeUndefined();
  const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'tfjs-drop-path', 'package.json'), 'utf8'));
  expect(installed.version).toBe(pkg.version);
});

const quickstart = (imports: string) => `${imports}
const input = tf.input({shape: [16]});
const branch = tf.layers.dense({units: 16, activation: 'relu'}).apply(input);
const dropped = dp.layers.dropPath({rate: 0.2}).apply(branch);
const output = tf.layers.add().apply([input, dropped]);
const model = tf.model({inputs: input, outputs: output});
model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
const x = tf.randomNormal([64, 16]);
model.fit(x, x, {epochs: 1, verbose: 0}).then(() => console.log('ok', dp.version, model.predict(x).shape.join('x')));
`;

test.each([
  ['require', 'quickstart.cjs', quickstart(`require('tfjs-drop-path/node-compat');
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');`)],
  ['import', 'quickstart.mjs', quickstart(`import 'tfjs-drop-path/node-compat';
import * as tf from '@tensorflow/tfjs-node';
import * as dp from 'tfjs-drop-path';`)],
])('the README quick start runs with %s', (_how, file, code) => {
  fs.writeFileSync(path.join(project, file), code);
  const out = sh(process.execPath, [file], project);
  expect(out.trim().split('\n').pop()).toBe(`ok ${pkg.version} 64x16`);
});

test('a TypeScript file using the public types type-checks against the installed package', () => {
  fs.writeFileSync(path.join(project, 'use.ts'), `
import 'tfjs-drop-path/node-compat';
import * as dp from 'tfjs-drop-path';
import type {DropPathArgs, DropPathSummary, ResNetArgs, StochasticResidualArgs} from 'tfjs-drop-path';

const args: DropPathArgs = {rate: 0.1, mode: 'batch', seed: 3};
const layer: dp.DropPath = dp.layers.dropPath(args);
layer.rate = 0.2;
const rate: number = layer.activeRate;
const resnetArgs: ResNetArgs = {inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}], dropPathRate: rate};
const model = dp.resnet(resnetArgs);
const summary: DropPathSummary = dp.dropPathSummary(model);
const blockArgs: Omit<StochasticResidualArgs, 'branch'> = {rate: 0.3, strategy: 'skip'};
export const out = [summary.expectedDepth, blockArgs.rate, dp.schedules.linear(4, 0.5).length];
`);
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({compilerOptions: {strict: true, noEmit: true,
    module: 'node16', moduleResolution: 'node16', target: 'es2020', skipLibCheck: true, types: []}, files: ['use.ts']}));
  sh(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
});

/** The README's js blocks, each with the outputs its comments promise (`console.log(…);  // 4 -> 2`). */
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const readmeBlocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m, i) => {
  const code = m[1] as string;
  const promised = code.split('\n').filter((l) => l.includes('console.log(')).map((l) => /\/\/\s*(.+)$/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
  return [`README.md #${i + 1}`, code, promised] as const;
});

test('the README has blocks that promise outputs', () => {
  expect(readmeBlocks.length).toBeGreaterThanOrEqual(5);
  expect(readmeBlocks.flatMap(([, , p]) => p)).toEqual(expect.arrayContaining(['4 -> 2', '[0.4, 0.4, 0]']));
});

test.each(readmeBlocks)('%s runs from the installed package and prints what it promises', (_where, code, promised) => {
  fs.writeFileSync(path.join(project, 'block.cjs'), code);
  const out = sh(process.execPath, ['block.cjs'], project);
  expect(out.length).toBeGreaterThan(0);
  const squash = (t: string) => t.replace(/\s+/g, '');
  for (const p of promised) expect([p, squash(out).includes(squash(p))]).toEqual([p, true]);
});
