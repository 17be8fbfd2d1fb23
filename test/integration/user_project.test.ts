/**
 * The package as a user and a publisher get it (issue 18):
 * - `npm pack` from the state `npm ci` leaves (no dist/): the tarball is built
 *   when it is packed — library, command line and the browser bundle — and its
 *   package.json holds no script that runs at install time;
 * - a new project on a machine without tfjs-node's CDN, following
 *   docs/install.md: `allowScripts`, `npm install tfjs-drop-path
 *   @tensorflow/tfjs-node`, `npx tfjs-drop-path install-tfjs-node`, then the
 *   README quick start. Needs the npm registry (metadata; tarballs come from
 *   npm's cache where it has them) and, for the binding, python3 with pip.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {ROOT} from '../utils/run_node';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-user-'));
afterAll(() => fs.rmSync(work, {recursive: true, force: true}));

const sh = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) => {
  const r = cp.spawnSync(cmd, args, {cwd, encoding: 'utf8', timeout: 600_000, env});
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return {stdout: r.stdout, all: `${r.stdout}${r.stderr}`};
};

let tarball = '';
let packedFiles: string[] = [];

beforeAll(() => {
  // A copy of the repository as a fresh clone has it (tracked files only, so no dist/), with npm ci's node_modules.
  const clone = path.join(work, 'clone');
  const tracked = cp.execFileSync('git', ['ls-files', '-z'], {cwd: ROOT, encoding: 'utf8'}).split('\0').filter(Boolean);
  for (const f of tracked) {
    if (!fs.existsSync(path.join(ROOT, f))) continue;
    fs.mkdirSync(path.dirname(path.join(clone, f)), {recursive: true});
    fs.copyFileSync(path.join(ROOT, f), path.join(clone, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  expect(fs.existsSync(path.join(clone, 'dist'))).toBe(false);
  const out = sh('npm', ['pack', '--json', '--pack-destination', work], clone).stdout;
  const packed = JSON.parse(out.slice(out.lastIndexOf('\n[') + 1));
  tarball = path.join(work, packed[0].filename);
  packedFiles = packed[0].files.map((f: {path: string}) => f.path);
}, 600_000);

test('npm pack from the state npm ci leaves builds what the tarball needs, browser bundle included', () => {
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/keras/index.d.ts', 'dist/src/node_compat.js', 'dist/src/files.js',
    'dist/browser/tfjs-drop-path.min.js', 'dist/browser/tfjs-drop-path.keras.min.js', 'dist/esm/index.js', 'dist/esm/keras/index.js', 'dist/node/index.mjs', 'bin/tfjs-drop-path.js']) {
    expect(packedFiles).toContain(f);
  }
  expect(packedFiles.filter((f) => /^(scripts|test|examples|bench|docs|python)\//.test(f))).toEqual([]);
  // The published manifest runs nothing in a user's project.
  const manifest = JSON.parse(cp.execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], {encoding: 'utf8'}));
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[hook]).toBeUndefined();
});

test('a new project without tfjs-node\'s CDN: the route docs/install.md gives works end to end', () => {
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  // docs/install.md, "In your own project": npm skips tfjs-node's download; its binding is built by our command.
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({name: 'my-app', version: '1.0.0', private: true,
    allowScripts: {'@tensorflow/tfjs-node': false, 'core-js': false}}, null, 2));
  const tfjsNode = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'package.json'), 'utf8')).version;
  const installed = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `@tensorflow/tfjs-node@${tfjsNode}`], project).all;
  expect(installed).not.toMatch(/not yet covered by allowScripts/);
  const built = sh('npx', ['tfjs-drop-path', 'install-tfjs-node'], project).all;
  expect(built).toMatch(/@tensorflow\/tfjs-node: ready \(.*\), backend "tensorflow"/);
  fs.writeFileSync(path.join(project, 'quickstart.js'), `require('tfjs-drop-path/node-compat');
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');
const input = tf.input({shape: [16]});
const branch = tf.layers.dense({units: 16, activation: 'relu'}).apply(input);
const output = tf.layers.add().apply([input, dp.layers.dropPath({rate: 0.2}).apply(branch)]);
const model = tf.model({inputs: input, outputs: output});
model.compile({optimizer: 'adam', loss: 'meanSquaredError'});
const x = tf.randomNormal([64, 16]);
model.fit(x, x, {epochs: 1, verbose: 0}).then(() => console.log('ok', dp.version, tf.getBackend()));
`);
  expect(sh(process.execPath, ['quickstart.js'], project).stdout.trim().split('\n').pop()).toBe(`ok ${pkg.version} tensorflow`);
}, 600_000);
