#!/usr/bin/env node
/**
 * The digits demo's evidence, reproducible by one command (`npm run evidence:digits`):
 * runs the digits demo once per seed (independent seeds: every sub-seed is a
 * hash of the seed), then writes docs/evidence-digits.md and docs/evidence-digits.json with
 * each run's test accuracy, test loss and seconds per epoch, as mean ± sample
 * standard deviation over the seeds, and the plugin version that made them.
 *
 * Usage: node scripts/evidence.js [--seeds 1,2,3] [--out docs] [-- demo flags…]
 * Everything after `--` goes to the demo unchanged. Without it, the demo's
 * defaults plus an early-stochastic-depth run and the pruning report
 * (`--time-schedule early:8 --prune`).
 */
'use strict';
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {parseArgs} = require('util');

const root = path.resolve(__dirname, '..');
const split = process.argv.indexOf('--');
const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
const demoArgs = split < 0 ? ['--time-schedule', 'early:8', '--prune'] : process.argv.slice(split + 1);
const {values} = parseArgs({args: own, options: {seeds: {type: 'string'}, out: {type: 'string'}}});
const seeds = (values.seeds ?? '1,2,3').split(',').map(Number);
if (seeds.length < 2 || seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
  console.error(`evidence: --seeds must list at least two non-negative integers, but received "${values.seeds}".`);
  process.exit(2);
}
const outDir = path.resolve(values.out ?? path.join(root, 'docs'));

const {mean, sd} = require('../examples/fashion/stats');
const fmt = (v, digits, scale = 1) => `${(scale * mean(v)).toFixed(digits)} ± ${(scale * sd(v)).toFixed(digits)}`;

const summaries = [];
for (const seed of seeds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tfdp-evidence-${seed}-`));
  console.log(`== seed ${seed}: node examples/digits/demo.js --seed ${seed} ${demoArgs.join(' ')}`);
  const r = cp.spawnSync(process.execPath, [path.join(root, 'examples', 'digits', 'demo.js'), '--seed', String(seed),
    '--out', dir, ...demoArgs], {cwd: root, stdio: ['ignore', 'inherit', 'inherit']});
  if (r.status !== 0) {
    console.error(`evidence: the demo failed for seed ${seed} (exit ${r.status}).`);
    process.exit(1);
  }
  summaries.push(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')));
  fs.mkdirSync(outDir, {recursive: true});
  if (seed === seeds[0]) fs.copyFileSync(path.join(dir, 'chart.png'), path.join(outDir, 'digits-evidence-chart.png'));
  fs.rmSync(dir, {recursive: true, force: true});
}

const first = summaries[0];
const runs = first.runs.map((run, i) => {
  const all = summaries.map((s) => s.runs[i]);
  return {
    key: run.key, label: run.label,
    testAccuracy: all.map((r) => r.testAccuracy), testLoss: all.map((r) => r.testLoss),
    trainLoss: all.map((r) => r.trainLoss), secondsPerEpoch: all.map((r) => r.secondsPerEpoch),
  };
});
const base = runs[0];
const lines = [
  `# Digits demo evidence (tfjs-drop-path ${first.plugin})`,
  '',
  `Made by \`npm run evidence:digits\`${demoArgs.length ? ` with \`-- ${demoArgs.join(' ')}\`` : ''}: the digits demo once per seed ` +
    `(${seeds.join(', ')}), ${first.settings.trainSamples} training digits, a fixed test set of ${first.settings.testSamples}, ` +
    `${first.settings.epochs} epochs, batch ${first.settings.batchSize}, p_L ${first.settings.rate} (${first.settings.schedule}); ` +
    `backend ${first.backend}, tfjs ${first.tfjs}, Node ${first.node}. Mean ± sample standard deviation over the seeds; ` +
    'per-seed values in brackets. Seconds per epoch are indicative (runs one after another on a shared machine).',
  '',
  '| run | test accuracy (%) | test loss | final train loss | seconds per epoch | test loss lower than no drop path |',
  '|---|---|---|---|---|---|',
  ...runs.map((r) => `| ${r.label} | ${fmt(r.testAccuracy, 2, 100)} (${r.testAccuracy.map((v) => (100 * v).toFixed(2)).join(', ')}) | ` +
    `${fmt(r.testLoss, 3)} | ${fmt(r.trainLoss, 3)} | ${fmt(r.secondsPerEpoch, 1)} | ` +
    `${r === base ? '—' : `${r.testLoss.filter((v, i) => v < (base.testLoss[i])).length} of ${seeds.length} seeds`} |`),
  '',
];
const pruning = [];
if (first.pruning) {
  lines.push('Depth on demand: each model with 0, 1/4 and 1/2 of its removable blocks (identity shortcut) removed, ' +
    'deepest first, by `pruneBlocks`; predict time is the median of 7 predictions of the test set.', '',
    '| model | blocks kept | test accuracy (%) | predict ms |', '|---|---|---|---|');
  first.pruning.forEach((row, i) => {
    const all = summaries.map((s) => s.pruning[i]);
    const acc = all.map((r) => r.testAccuracy);
    const ms = all.map((r) => r.predictMs);
    pruning.push({run: row.run, label: row.label, blocks: row.blocks, testAccuracy: acc, predictMs: ms});
    const total = first.runs.find((r) => r.key === row.run).blockRates.length;
    lines.push(`| ${row.label} | ${row.blocks} of ${total} | ${fmt(acc, 2, 100)} (${acc.map((v) => (100 * v).toFixed(2)).join(', ')}) | ` +
      `${fmt(ms, 0)} |`);
  });
  lines.push('');
}
fs.mkdirSync(outDir, {recursive: true});
fs.writeFileSync(path.join(outDir, 'evidence-digits.md'), `${lines.join('\n')}`);
fs.writeFileSync(path.join(outDir, 'evidence-digits.json'), `${JSON.stringify({plugin: first.plugin, seeds, demoArgs,
  settings: first.settings, backend: first.backend, node: first.node, runs, pruning}, null, 2)}\n`);
console.log(`\n${lines.join('\n')}\nwrote ${path.join(outDir, 'evidence-digits.md')}, evidence-digits.json, digits-evidence-chart.png`);
