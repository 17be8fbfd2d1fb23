/** The digits demo (npm run demo), in a seconds-long form. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {runNode} from '../utils/run_node';
import {unexpectedStderr} from '../utils/stderr';

const demo = 'examples/digits/demo.js';
let out: string;
beforeAll(() => { out = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-demo-')); });
afterAll(() => fs.rmSync(out, {recursive: true, force: true}));

test('tiny run: no drop path, DropPath and StochasticResidual skip side by side; saves and reloads; writes every output file', () => {
  const r = runNode([demo, '--samples', '200', '--test', '100', '--epochs', '1', '--batch-size', '50', '--seed', '3', '--out', out]);
  expect(unexpectedStderr(r.stderr)).toEqual([]); // not a TTY: no progress bar, only per-epoch lines
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/no drop path\s+epoch 1\/1 .* ETA/);
  expect(r.stdout).toMatch(/\| DropPath layer linear p_L=0\.5 +\| [\d.]+% /);
  expect(r.stdout).toMatch(/\| StochasticResidual 'skip' linear p_L=0\.5 +\| [\d.]+% /);
  expect(r.stdout).toMatch(/\| run .*\| test acc .*\| s\/epoch .*\| params/);
  expect(r.stdout).toMatch(/predictions identical/);
  for (const f of ['summary.json', 'chart.svg', 'chart.png', 'model/model.json']) {
    expect(fs.existsSync(path.join(out, f))).toBe(true);
  }
  // The saved model's weights file is named by its content (tfjs-drop-path/files' saveModelFolder).
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'model', 'model.json'), 'utf8')).weightsManifest;
  expect(manifest[0].paths).toEqual([expect.stringMatching(/^weights\.[0-9a-f]{8}\.bin$/)]);
  expect(fs.existsSync(path.join(out, 'model', manifest[0].paths[0]))).toBe(true);
  expect(fs.readFileSync(path.join(out, 'chart.png')).subarray(1, 4).toString()).toBe('PNG');
  expect(fs.readFileSync(path.join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg[\s\S]*test accuracy[\s\S]*<\/svg>$/);

  const s = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  expect(s).toMatchObject({demo: 'digits', backend: 'tensorflow', savedModel: {reloadedPredictionsMatch: true, maxAbsDiff: 0}});
  expect(s.settings).toMatchObject({epochs: 1, samples: 200, test: 100, batchSize: 50, rate: 0.5, schedule: 'linear', seed: 3,
    blocks: ['dropPath', 'skip'], trainSamples: 200, testSamples: 100});
  expect(s.plugin).toMatch(/^\d+\.\d+\.\d+$/);
  expect(s.runs.map((r: {key: string}) => r.key)).toEqual(['baseline', 'drop_path', 'drop_path_skip']);
  expect(s.runs.map((r: {block: string}) => r.block)).toEqual(['dropPath', 'dropPath', 'skip']);
  for (const run of s.runs) {
    for (const k of ['testAccuracy', 'testLoss', 'trainLoss', 'secondsPerEpoch', 'params', 'expectedDepth']) {
      expect(Number.isFinite(run[k])).toBe(true);
    }
    expect(run.epochs).toHaveLength(1);
    expect(run.epochs[0].seconds).toBeGreaterThan(0);
    expect(run.blockRates).toHaveLength(6);
  }
  expect(s.runs[0].blockRates).toEqual([0, 0, 0, 0, 0, 0]);
  expect(s.runs[1].blockRates[5]).toBeCloseTo(0.5, 12);
  expect(s.runs[2].blockRates).toEqual(s.runs[1].blockRates);
  expect(s.runs[0].params).toBe(s.runs[1].params);
  expect(s.runs[2].params).toBe(s.runs[1].params);
  expect(fs.readFileSync(path.join(out, 'chart.svg'), 'utf8')).toMatch(/seconds per epoch/);
});

test('time schedule and pruning: a third run, its rates per epoch, and a pruning table', () => {
  const dir = path.join(out, 'extra');
  const r = runNode([demo, '--samples', '160', '--test', '40', '--epochs', '2', '--batch-size', '40', '--blocks', 'skip',
    '--rate', '0.3', '--time-schedule', 'early:1', '--prune', '--out', dir]);
  expect(unexpectedStderr(r.stderr)).toEqual([]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/\| run \| blocks \| removed \| test acc \| predict ms/);
  const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  expect(s.settings).toMatchObject({blocks: ['skip'], prune: true, timeSchedule: {name: 'early', epochs: 1}});
  expect(s.runs.map((x: {key: string}) => x.key)).toEqual(['baseline', 'drop_path_skip', 'drop_path_early']);
  expect(s.runs[2].timeSchedule).toBe('early:1');
  expect(s.runs[2].epochs.map((e: {dropPathRate: number}) => e.dropPathRate)).toEqual([0.3, 0]);
  expect(s.runs[1].epochs.map((e: {dropPathRate: number}) => e.dropPathRate)).toEqual([0.3, 0.3]);
  // Three removable blocks (identity shortcut) per model: 0, 1 and 2 removed.
  expect(s.pruning.map((p: {run: string; blocks: number}) => `${p.run}:${p.blocks}`))
    .toEqual(['baseline:6', 'baseline:5', 'baseline:4', 'drop_path_skip:6', 'drop_path_skip:5', 'drop_path_skip:4']);
  expect(s.pruning[2].removed).toEqual(['stage2_block2_residual', 'stage3_block2_residual']);
  for (const p of s.pruning) expect(p.testAccuracy).toBeGreaterThanOrEqual(0);
});

test.each([
  [['--blocks', 'drop'], /--blocks must be a comma-separated list of distinct entries from dropPath, skip, mask, but received "drop"/],
  [['--blocks', 'skip,skip'], /--blocks must be .* but received "skip,skip"/],
  [['--time-schedule', 'early'], /--time-schedule must be one of constant, early:N, late:N, warmup:N \(N ≥ 1\), but received "early"/],
  [['--time-schedule', 'late:0'], /--time-schedule must be one of .* but received "late:0"/],
  [['--epochs', '0'], /--epochs must be an integer from 1 to 1000, but received "0"/],
  [['--rate', '1.5'], /--rate must be a number in \(0, 1\], but received "1\.5"/],
  [['--schedule', 'cosine'], /--schedule must be one of linear, linspace, uniform, but received "cosine"/],
  [['--bogus'], /Unknown option '--bogus'/],
  [['extra'], /Unexpected argument 'extra'/],
])('bad flags %j: usage message, exit code 2', (args, message) => {
  const r = runNode([demo, ...args]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/Usage: npm run demo -- \[options\]/);
});

test.each([['/proc/tfdp-nope/run'], ['/etc/passwd/run'], ['/proc/self']])(
  '--out %s that cannot be written fails before training, in seconds, with a clear message', (dir) => {
    const t0 = Date.now();
    const r = runNode([demo, '--out', dir], {timeout: 30000});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`--out must be a folder that can be created and written, but "${dir}" cannot`));
    expect(r.stdout).not.toMatch(/epoch/); // nothing trained
    expect(Date.now() - t0).toBeLessThan(20000); // a hang guard, not a speed test (the process itself exits at once)
  });

test('--help describes every flag', () => {
  const r = runNode([demo, '--help']);
  expect(r.status).toBe(0);
  for (const flag of ['--epochs', '--samples', '--test', '--batch-size', '--rate', '--schedule', '--seed', '--out', '--blocks',
    '--time-schedule', '--prune']) {
    expect(r.stdout).toContain(flag);
  }
});
