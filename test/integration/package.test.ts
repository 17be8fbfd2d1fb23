/**
 * The package as a user gets it: the built entry points (run `npm run build`
 * first; the test command does), import and require, one registry, tfjs as a
 * peer, and the version constant.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {version} from '../../index';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function node(args: string[]): string {
  const r = cp.spawnSync(process.execPath, args, {cwd: root, encoding: 'utf8',
    env: process.env});
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

test('one version source: package.json, written into the library and the Python twin by the build', () => {
  expect(version).toBe(pkg.version);
  expect(fs.readFileSync(path.join(root, 'python', 'tfjs_drop_path', '_version.py'), 'utf8')).toContain(`__version__ = "${pkg.version}"`);
  expect(fs.readFileSync(path.join(root, 'python', 'pyproject.toml'), 'utf8')).toMatch(/dynamic = \["version"\][\s\S]*attr = "tfjs_drop_path\._version\.__version__"/);
  expect(pkg.scripts.build).toMatch(/^node scripts\/sync-version\.js && /);
  expect(pkg.scripts.version).toMatch(/sync-version/);
});

test('tfjs is a peer dependency, never a dependency', () => {
  expect(pkg.peerDependencies).toEqual({
    '@tensorflow/tfjs-core': '^4.22.0',
    '@tensorflow/tfjs-layers': '^4.22.0',
  });
  expect(Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@tensorflow/'))).toEqual([]);
  expect(pkg.engines.node).toBe('^20.0.0 || ^22.0.0 || ^24.0.0');
  // Registration is a side effect: every layer file and entry is declared as having one, in each build.
  for (const f of ['./dist/layers/*.js', './dist/esm/layers/*.js', './dist/index.js', './dist/esm/index.js', './dist/keras/index.js',
    './dist/esm/keras/index.js', './dist/node/*.mjs']) {
    expect(pkg.sideEffects).toContain(f);
  }
});

test('the build ships types and does not bundle tfjs', () => {
  const targets = (v: unknown): string[] => (typeof v === 'string' ? [v] : Object.values(v as object).flatMap(targets));
  for (const door of ['.', './keras', './node-compat', './files']) {
    for (const target of targets(pkg.exports[door])) expect([target, fs.existsSync(path.join(root, target))]).toEqual([target, true]);
  }
  const js = fs.readFileSync(path.join(root, 'dist/layers/drop_path.js'), 'utf8');
  expect(js).toMatch(/require\("@tensorflow\/tfjs-core"\)/);
  expect(js).not.toMatch(/class Engine|function randomUniform/);
});

test('require and import load one copy: same class, registered once (the core door and the Keras door alike)', () => {
  const out = node(['--input-type=module', '-e', `
    import {createRequire} from 'module';
    import 'tfjs-drop-path/node-compat';
    import * as tf from '@tensorflow/tfjs-node';
    import * as esm from 'tfjs-drop-path';
    const cjs = createRequire(import.meta.url)('tfjs-drop-path');
    const kerasEsm = await import('tfjs-drop-path/keras');
    const kerasCjs = createRequire(import.meta.url)('tfjs-drop-path/keras');
    const registered = tf.serialization.SerializationMap.getMap().classNameMap.DropPath[0];
    const layer = esm.layers.dropPath({rate: 0.5, seed: 1});
    const y = layer.apply(tf.ones([8, 2]), {training: true});
    console.log(JSON.stringify({
      same: esm.DropPath === cjs.DropPath && registered === esm.DropPath && kerasEsm.loadKerasModel === kerasCjs.loadKerasModel &&
        tf.serialization.SerializationMap.getMap().classNameMap.DropPath[0] === esm.DropPath,
      version: esm.version, values: [...new Set(y.dataSync())].sort(),
    }));`]);
  expect(JSON.parse(out)).toEqual({same: true, version: pkg.version, values: [0, 2]});
});

test('CommonJS users load the plugin with require', () => {
  const out = node(['-e', `
    require('tfjs-drop-path/node-compat');
    const tf = require('@tensorflow/tfjs-node');
    const dp = require('tfjs-drop-path');
    const y = dp.dropPath(tf.ones([4, 2]), 1);
    console.log(tf.getBackend(), y.dataSync().every((v) => v === 0));`]);
  expect(out).toBe('tensorflow true');
});
