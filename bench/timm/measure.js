#!/usr/bin/env node
/**
 * loadTimmModel on full-size checkpoints (made by make_full.py): for each, in a fresh
 * process, the load time, the process's peak memory (maxRSS) against a process that has only
 * loaded tfjs-node, and the largest difference from timm's forward on the fixed input; then
 * a ViT-Ti training step (32×32, patch 4, batch 32, AdamW, drop path 0.1) beside timm's
 * (timm_vit_step.json). Writes bench/timm/results.json.
 *
 * Usage: node bench/timm/measure.js DIR [--steps N]
 */
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');

const [mode, ...rest] = process.argv.slice(2);

async function child(dir) {
  require('tfjs-drop-path/node-compat');
  const tf = require('@tensorflow/tfjs-node');
  const {loadTimmModel} = require('tfjs-drop-path/timm');
  if (!dir) return {maxRssMB: process.resourceUsage().maxRSS / 1024};
  const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8'));
  const started = process.hrtime.bigint();
  const model = await loadTimmModel(dir);
  const loadS = Number(process.hrtime.bigint() - started) / 1e9;
  const x = tf.tensor(io.x, io.xShape);
  const t = process.hrtime.bigint();
  const y = model.predict(x);
  const forwardS = Number(process.hrtime.bigint() - t) / 1e9;
  const want = tf.tensor(io.y, io.yShape);
  const maxDiff = tf.max(tf.abs(tf.sub(y, want))).dataSync()[0];
  const scale = tf.max(tf.abs(want)).dataSync()[0];
  return {loadS, forwardS, timmForwardS: io.timmForwardS, maxDiff, relDiff: maxDiff / Math.max(1, scale), params: model.countParams(),
    fileMB: fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20, maxRssMB: process.resourceUsage().maxRSS / 1024};
}

async function vitStep(steps) {
  require('tfjs-drop-path/node-compat');
  const tf = require('@tensorflow/tfjs-node');
  const dp = require('tfjs-drop-path');
  const model = dp.vit({preset: 'vit_tiny_patch16_224', imageSize: 32, patchSize: 4, numClasses: 10, dropPathRate: 0.1, seed: 1});
  model.compile({optimizer: dp.optimizers.adamw({learningRate: 5e-4, weightDecay: 0.05, exclude: 'timm'}), loss: 'categoricalCrossentropy'});
  const x = tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: 32}, (_, i) => i % 10), 'int32'), 10);
  const times = [];
  for (let i = 0; i < steps + 5; i++) {
    const t = process.hrtime.bigint();
    await model.trainOnBatch(x, y);
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return {params: model.countParams(), medianMs: times[Math.floor(times.length / 2)], steps};
}

function inChild(args) {
  const r = cp.spawnSync(process.execPath, [__filename, ...args], {encoding: 'utf8', env: process.env, maxBuffer: 1 << 24});
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function main() {
  if (mode === '--child') return console.log(JSON.stringify(await child(rest[0])));
  if (mode === '--vit-step') return console.log(JSON.stringify(await vitStep(Number(rest[0]))));
  const dir = mode;
  if (!dir) throw new Error('usage: node bench/timm/measure.js DIR [--steps N]');
  const steps = Number(rest[rest.indexOf('--steps') + 1] || 20);
  const baseline = inChild(['--child']);
  const results = {date: new Date().toISOString(), node: process.versions.node, baselineRssMB: baseline.maxRssMB, models: {}};
  for (const arch of ['deit_tiny_patch16_224', 'convnext_tiny']) {
    results.models[arch] = inChild(['--child', path.join(dir, arch)]);
    console.log(arch, JSON.stringify(results.models[arch]));
  }
  results.vitStep = {tfjs: inChild(['--vit-step', String(steps)]), timm: JSON.parse(fs.readFileSync(path.join(dir, 'timm_vit_step.json'), 'utf8'))};
  console.log('ViT-Ti step', JSON.stringify(results.vitStep));
  fs.writeFileSync(path.join(__dirname, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
