/**
 * Nothing lost on save (issue 18): a save either replaces the old file whole
 * or leaves it untouched, and a model folder holds the old set or the new one.
 * A failing write is made real: the save runs in a child process whose file
 * size limit (ulimit -f, with SIGXFSZ caught) makes the write fail with EFBIG
 * midway, as a full disk does. 0.4.0 wrote in place and left a truncated file.
 */
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {ROOT} from '../utils/run_node';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-saves-'));
});
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

/** Runs `script` (with dp, tf and a big and a small model defined) under a file size limit of `kb` KiB. */
function run(script: string, kb = 0) {
  const code = `process.on('SIGXFSZ', () => {});
    require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'node_compat.js'))});
    const tf = require('@tensorflow/tfjs-node');
    const dp = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    const files = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'files.js'))});
    Object.assign(dp, require(${JSON.stringify(path.join(ROOT, 'dist', 'keras', 'index.js'))}));
    const small = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 1}], seed: 1});
    const big = dp.resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 128, blocks: 4}], seed: 2});
    (async () => { ${script} })().then(() => console.log('done'), (e) => { console.log('failed:', e.message); process.exitCode = 3; });`;
  const limit = kb ? `ulimit -f ${kb}; ` : '';
  return cp.spawnSync('bash', ['-c', `${limit}exec "${process.execPath}" -e "$0"`, code],
    {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...process.env, TF_CPP_MIN_LOG_LEVEL: '3', TF_ENABLE_ONEDNN_OPTS: '0'}});
}

test('saveKerasModel over a file: a write that fails midway (EFBIG) leaves the old file whole', () => {
  const file = path.join(dir, 'model.keras');
  expect(run(`await dp.saveKerasModel(small, ${JSON.stringify(file)});`).stdout).toMatch(/done/);
  const before = fs.readFileSync(file);
  const r = run(`await dp.saveKerasModel(big, ${JSON.stringify(file)});`, 100);
  expect(r.stdout).toMatch(/failed: saveKerasModel\('.*model\.keras'\): cannot write '.*model\.keras' \(EFBIG\)/);
  expect(fs.readFileSync(file).equals(before)).toBe(true);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]); // no temporary file left
  expect(run(`const m = await dp.loadKerasModel(${JSON.stringify(file)}); if (m.countParams() !== small.countParams()) throw new Error('changed');`)
    .stdout).toMatch(/done/);
});

test('saveModelFolder (model.json + weights): a failed save leaves the old set, a good one replaces it whole', () => {
  const folder = path.join(dir, 'folder');
  expect(run(`await files.saveModelFolder(small, ${JSON.stringify(folder)});`).stdout).toMatch(/done/);
  const listing = fs.readdirSync(folder).sort();
  const json = fs.readFileSync(path.join(folder, 'model.json'));
  const r = run(`await files.saveModelFolder(big, ${JSON.stringify(folder)});`, 100);
  expect(r.stdout).toMatch(/failed: .*EFBIG/);
  expect(fs.readdirSync(folder).sort()).toEqual(listing);
  expect(fs.readFileSync(path.join(folder, 'model.json')).equals(json)).toBe(true);
  const check = (model: string) => `const m = await tf.loadLayersModel('file://${folder}/model.json');
    if (m.countParams() !== ${model}.countParams()) throw new Error('wrong model');`;
  expect(run(check('small')).stdout).toMatch(/done/);
  // A save that succeeds: the new set only (the old weights removed), and it loads.
  expect(run(`await files.saveModelFolder(big, ${JSON.stringify(folder)});`).stdout).toMatch(/done/);
  const after = fs.readdirSync(folder).sort();
  expect(after).toHaveLength(2);
  expect(after.filter((f) => listing.includes(f) && f !== 'model.json')).toEqual([]);
  expect(run(check('big')).stdout).toMatch(/done/);
});

test('keras-to-tfjs into a folder holding a model: a failed write leaves that model whole', () => {
  const out = path.join(dir, 'converted');
  const fixture = path.join(ROOT, 'test', 'fixtures', 'keras', 'convnext_reduced.keras');
  expect(run(`await files.saveModelFolder(small, ${JSON.stringify(out)});`).stdout).toMatch(/done/);
  const json = fs.readFileSync(path.join(out, 'model.json'));
  const r = cp.spawnSync('bash', ['-c', `ulimit -f 40; exec "${process.execPath}" bin/tfjs-drop-path.js keras-to-tfjs "$0" "$1"`, fixture, out],
    {cwd: ROOT, encoding: 'utf8', timeout: 120_000});
  expect(r.status).not.toBe(0);
  expect(fs.readFileSync(path.join(out, 'model.json')).equals(json)).toBe(true);
  expect(fs.readdirSync(out).filter((f) => f.includes('.tmp'))).toEqual([]);
});
