#!/usr/bin/env node
/**
 * Where a training step's time goes on tfjs-node: every TensorFlow op the
 * step runs is timed where tfjs-node hands it to libtensorflow (the backend's
 * executeSingleOutput / executeMultipleOutputs — eager ops on the CPU run
 * synchronously there, so the wall time of the call is the kernel's), and the
 * rest of the step's wall time is JavaScript (tfjs-layers' graph execution,
 * the tape, the optimizer's bookkeeping, op dispatch).
 *
 * Models: the bench's ResNet (8 bottleneck blocks, 64 channels, batch 32, the
 * builders' fast blocks, grouped Adam) at --size 16 or 32 with --block plain /
 * dropPath / mask / skip-row / skip-batch at --rate; or --model vit: ViT-Ti
 * (32×32, patch 4, batch 32, AdamW, drop path --rate, default 0.1).
 *
 * Usage: node bench/profile.js [--model resnet|vit] [--size 16] [--block plain] [--rate 0.1]
 *                              [--steps 10] [--top 15] [--json]
 */
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const {parseArgs} = require('util');

require('tfjs-drop-path/node-compat');
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');
const {watchOps} = require('./backend_ops');

const {values: argv} = parseArgs({options: {
  model: {type: 'string', default: 'resnet'}, size: {type: 'string', default: '16'}, block: {type: 'string', default: 'plain'},
  rate: {type: 'string'}, steps: {type: 'string', default: '10'}, top: {type: 'string', default: '15'}, json: {type: 'boolean'},
}});

const BLOCKS = {
  plain: {blockType: 'plain'},
  dropPath: {blockType: 'dropPath'},
  mask: {blockType: 'stochasticResidual', strategy: 'mask'},
  'skip-row': {blockType: 'stochasticResidual', strategy: 'skip'},
  'skip-batch': {blockType: 'stochasticResidual', strategy: 'skip', dropPathMode: 'batch'},
};

function resnet(size, rate, block) {
  const build = BLOCKS[block];
  if (!build) throw new Error(`--block must be one of ${Object.keys(BLOCKS).join(', ')}, but received '${block}'.`);
  const input = tf.input({shape: [size, size, 64]});
  let x = input;
  dp.schedules.linear(8, rate).forEach((r, i) => {
    x = dp.bottleneck(x, {filters: 64, dropPathRate: r, name: `b${i}`, seed: i, ...build});
  });
  const out = tf.layers.dense({units: 10, activation: 'softmax'}).apply(tf.layers.globalAveragePooling2d({}).apply(x));
  const model = tf.model({inputs: input, outputs: out});
  model.compile({optimizer: dp.optimizers.adam(1e-3), loss: 'categoricalCrossentropy'});
  return {model, x: tf.randomNormal([32, size, size, 64], 0, 1, 'float32', 1)};
}

function vit(rate, block) {
  const blockType = block === 'plain' ? 'dropPath' : block.startsWith('skip') ? 'stochasticResidual' : block;
  const model = dp.vit({preset: 'vit_tiny_patch16_224', imageSize: 32, patchSize: 4, numClasses: 10, dropPathRate: rate, seed: 1,
    blockType, ...(block === 'skip-batch' ? {dropPathMode: 'batch'} : {})});
  model.compile({optimizer: dp.optimizers.adamw({learningRate: 5e-4, weightDecay: 0.05, exclude: 'timm'}), loss: 'categoricalCrossentropy'});
  return {model, x: tf.randomNormal([32, 32, 32, 3], 0, 1, 'float32', 1)};
}

/** Times every op the backend runs while `fn` runs; returns {byOp, ops, opMs}. */
async function timedOps(fn) {
  const byOp = new Map();
  await watchOps(tf, (op, ms) => {
    const e = byOp.get(op) ?? {calls: 0, ms: 0};
    e.calls++;
    e.ms += ms;
    byOp.set(op, e);
  }, fn);
  let ops = 0;
  let opMs = 0;
  for (const e of byOp.values()) {
    ops += e.calls;
    opMs += e.ms;
  }
  return {byOp, ops, opMs};
}

async function main() {
  const steps = Number(argv.steps);
  const rate = Number(argv.rate ?? (argv.model === 'vit' ? 0.1 : 0));
  const {model, x} = argv.model === 'vit' ? vit(rate, argv.block) : resnet(Number(argv.size), rate, argv.block);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: 32}, (_, i) => i % 10), 'int32'), 10);
  for (let i = 0; i < 5; i++) await model.trainOnBatch(x, y);
  const walls = [];
  const total = new Map();
  let ops = 0;
  let opMs = 0;
  for (let s = 0; s < steps; s++) {
    const t0 = process.hrtime.bigint();
    const r = await timedOps(() => model.trainOnBatch(x, y));
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    ops += r.ops;
    opMs += r.opMs;
    for (const [k, v] of r.byOp) {
      const e = total.get(k) ?? {calls: 0, ms: 0};
      e.calls += v.calls;
      e.ms += v.ms;
      total.set(k, e);
    }
  }
  const wallMs = walls.reduce((a, b) => a + b, 0) / steps;
  const kernels = [...total].map(([op, e]) => ({op, calls: e.calls / steps, ms: e.ms / steps})).sort((a, b) => b.ms - a.ms);
  const result = {model: argv.model, size: argv.model === 'vit' ? 32 : Number(argv.size), block: argv.block, rate, steps,
    wallMs, opsPerStep: ops / steps, opMs: opMs / steps, jsMs: wallMs - opMs / steps, kernels};
  if (argv.json) return console.log(JSON.stringify(result));
  console.log(`${result.model} ${result.size}×${result.size} ${result.block} rate ${rate}: mean step ${wallMs.toFixed(1)} ms over ${steps} steps ` +
    `(timing adds ≈ 1 µs per op); TF ops ${result.opsPerStep.toFixed(0)}/step taking ${result.opMs.toFixed(1)} ms; ` +
    `JavaScript and dispatch ${result.jsMs.toFixed(1)} ms`);
  console.log('| op | calls/step | ms/step | share |\n|---|---|---|---|');
  for (const k of kernels.slice(0, Number(argv.top))) {
    console.log(`| ${k.op} | ${k.calls.toFixed(1)} | ${k.ms.toFixed(2)} | ${(100 * k.ms / wallMs).toFixed(1)}% |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
