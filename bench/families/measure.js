#!/usr/bin/env node
/**
 * addDropPath on the full-size keras.applications families (made by make_full.py; not committed):
 * for each, the blocks found against Keras' count of its residual Adds, the largest inference
 * difference of the 'mask' and 'auto' models from the loaded one (two 224×224 images), how many
 * blocks 'auto' skips, and the samples dropped in training calls at rate 0.5 (linspace) against the
 * number expected, with the z-score of the difference (a sum of Bernoulli draws: variance Σ n·p(1 − p)).
 * With --steps N, also the training step of ResNet50 (224×224, batch --batch) unmodified, 'mask' and
 * 'skip', interleaved step by step, medians of N steps after 2 warm-up steps.
 *
 * Usage: node bench/families/measure.js DIR [--steps N] [--batch N] [--out FILE]
 */
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const fs = require('fs');
const path = require('path');
const {parseArgs} = require('util');

require('tfjs-drop-path/node-compat');
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');
const {loadKerasModel} = require('tfjs-drop-path/keras');

const {values: argv, positionals} = parseArgs({allowPositionals: true, options: {
  steps: {type: 'string'}, batch: {type: 'string'}, out: {type: 'string'}}});
const DIR = positionals[0];
if (!DIR) {
  console.error('usage: node bench/families/measure.js DIR [--steps N] [--batch N] [--out FILE]');
  process.exit(2);
}
const STEPS = Number(argv.steps ?? 0);
const BATCH = Number(argv.batch ?? 8);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const maxDiff = (a, b) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** Samples dropped per block over `calls` training calls of `batch` samples (a dropped branch output is all zero). */
function dropCounts(model, calls, batch) {
  const drops = dp.dropPathSummary(model).rows.map((r) => model.getLayer(r.name));
  const probe = tf.model({inputs: model.inputs, outputs: drops.map((l) => l.output)});
  const counts = drops.map(() => 0);
  for (let c = 0; c < calls; c++) {
    tf.tidy(() => {
      const outs = probe.apply(tf.randomUniform([batch, 224, 224, 3], 0, 255, 'float32', 200 + c), {training: true});
      outs.forEach((o, i) => { counts[i] += tf.all(tf.equal(o.reshape([batch, -1]), 0), 1).sum().dataSync()[0]; });
    });
  }
  return counts;
}

async function stepTimes(original) {
  const variants = [{key: 'unmodified', model: original},
    {key: 'mask', model: dp.addDropPath(original, {rate: 0.5, strategy: 'mask', seed: 1}).model},
    {key: 'skip', model: dp.addDropPath(original, {rate: 0.5, strategy: 'skip', seed: 1}).model}];
  const x = tf.randomUniform([BATCH, 224, 224, 3], 0, 255, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: BATCH}, (_, i) => i % 1000), 'int32'), 1000);
  for (const v of variants) {
    v.model.compile({optimizer: tf.train.sgd(1e-4), loss: 'categoricalCrossentropy'});
    v.times = [];
    for (let i = 0; i < 2; i++) await v.model.trainOnBatch(x, y);
  }
  for (let s = 0; s < STEPS; s++) {
    for (const v of s % 2 ? [...variants].reverse() : variants) {
      const t = process.hrtime.bigint();
      await v.model.trainOnBatch(x, y);
      v.times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  const base = median(variants[0].times);
  return variants.map((v) => ({key: v.key, medianMs: median(v.times), speedup: base / median(v.times)}));
}

async function main() {
  const keras = JSON.parse(fs.readFileSync(path.join(DIR, 'families.json'), 'utf8'));
  const results = {};
  for (const [name, info] of Object.entries(keras)) {
    const t0 = Date.now();
    const model = await loadKerasModel(path.join(DIR, `${name}.keras`));
    const loadS = (Date.now() - t0) / 1000;
    const x = tf.randomUniform([2, 224, 224, 3], 0, 255, 'float32', 7);
    const want = model.predict(x);
    const mask = dp.addDropPath(model, {rate: 0.5, seed: 3});
    const auto = dp.addDropPath(model, {rate: 0.5, strategy: 'auto', seed: 3});
    const r = {kerasAdds: info.adds, params: info.params, bytes: info.bytes, loadS, found: mask.blocks.length,
      actions: Object.fromEntries(['inserted', 'replaced', 'set'].map((a) => [a, mask.blocks.filter((b) => b.action === a).length])),
      diffMask: maxDiff(mask.model.predict(x), want), diffAuto: maxDiff(auto.model.predict(x), want),
      autoSkipped: auto.blocks.filter((b) => b.action === 'skip').length};
    const calls = 4;
    const counts = dropCounts(mask.model, calls, BATCH);
    const n = calls * BATCH;
    const expected = mask.blocks.reduce((s, b) => s + n * b.rate, 0);
    const variance = mask.blocks.reduce((s, b) => s + n * b.rate * (1 - b.rate), 0);
    const dropped = counts.reduce((s, c) => s + c, 0);
    Object.assign(r, {dropTrials: n * counts.length, dropped, expected, z: (dropped - expected) / Math.sqrt(variance)});
    if (STEPS > 0 && name === 'resnet50') r.steps = await stepTimes(model);
    results[name] = r;
    console.log(name, JSON.stringify(r));
    tf.dispose([x, want]);
    [mask.model, auto.model, model].forEach((m) => m.dispose());
  }
  const out = argv.out ?? path.join(__dirname, 'results.json');
  fs.writeFileSync(out, `${JSON.stringify({date: new Date().toISOString(), node: process.versions.node, batch: BATCH, steps: STEPS, results}, null, 1)}\n`);
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
