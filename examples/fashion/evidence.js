#!/usr/bin/env node
/**
 * Evidence on a task where regularization has room (`npm run evidence`):
 * Fashion-MNIST, 10,000 training images (the first of the training file) and
 * the full 10,000-image test set; the builders' bottleneck ResNet and a small
 * ViT, each trained from the same seeds without drop path, with it (DropPath
 * layer: the computed-then-masked form; and StochasticResidual 'skip': dropped
 * samples not computed) at one rate per model, and with early drop path (Liu
 * et al. 2023, "Dropout Reduces Underfitting": on for the first epochs, then
 * off). Every epoch is followed by a test-set evaluation, so the runs give
 * accuracy against epochs and against training wall-clock.
 *
 * Writes OUT/evidence.json (every run, every epoch; rewritten after each
 * run, so that --resume continues an interrupted evidence), OUT/evidence.md
 * (the tables) and OUT/evidence-chart.png. Takes hours on a 2-core CPU; not
 * part of CI.
 *
 * Usage: npm run evidence -- [--seeds 1,2,3] [--models resnet,vit] [--train 10000]
 *          [--test 10000] [--epochs 10] [--resume] [--report] [--out docs]
 * --report: no training; the tables and chart from OUT/evidence.json as it stands (e.g. part-way).
 * (--test below 10000: the first images of the test set, for a quick look only.)
 */
'use strict';
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const fs = require('fs');
const os = require('os');
const path = require('path');
const {parseArgs} = require('util');

const {loadFashionMnist} = require('./idx');
const {mean, sd, paired} = require('./stats');
// The digits demo's seeded shuffle (mulberry32 + Fisher–Yates): the same permutations.
const {permutation} = require('../digits/data');

const {values} = parseArgs({options: {
  seeds: {type: 'string', default: '1,2,3'}, models: {type: 'string', default: 'resnet,vit'},
  train: {type: 'string', default: '10000'}, test: {type: 'string', default: '10000'}, epochs: {type: 'string', default: '10'},
  resume: {type: 'boolean'}, report: {type: 'boolean'}, out: {type: 'string', default: path.join(__dirname, '..', '..', 'docs')},
  help: {type: 'boolean', short: 'h'},
}});
if (values.help) {
  console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}
const fail = (msg) => {
  console.error(`evidence: ${msg}`);
  process.exit(2);
};
const SEEDS = values.seeds.split(',').map(Number);
if (SEEDS.length < 2 || SEEDS.some((s) => !Number.isSafeInteger(s) || s < 0)) fail(`--seeds must list at least two non-negative integers, but received "${values.seeds}".`);
const TRAIN = Number(values.train);
if (!Number.isSafeInteger(TRAIN) || TRAIN < 100 || TRAIN > 60000) fail(`--train must be an integer from 100 to 60000, but received "${values.train}".`);
const TEST = Number(values.test);
if (!Number.isSafeInteger(TEST) || TEST < 100 || TEST > 10000) fail(`--test must be an integer from 100 to 10000, but received "${values.test}".`);
const EPOCHS = Number(values.epochs);
if (!Number.isSafeInteger(EPOCHS) || EPOCHS < 2 || EPOCHS > 500) fail(`--epochs must be an integer from 2 to 500, but received "${values.epochs}".`);
const OUT = path.resolve(values.out);

/** Early drop path: on for the first third of the epochs (Liu et al. end it early in training), then off. */
const EARLY_EPOCHS = Math.max(1, Math.round(EPOCHS / 3));

/**
 * The two models. ResNet: the digits demo's network (a stride-2 stem, three stages of two bottlenecks), p_L 0.2
 * linear: the recipes scale the rate with depth (ConvNeXt-T 0.1 at 18 blocks, Huang et al. 0.5 at 54), and 0.2 costs
 * these 6 blocks 0.6 blocks of expected depth. ViT: patch 4 (49 tokens and a class token), dim 64, 6 blocks of 4
 * heads, MLP ratio 2, drop path 0.1 (DeiT's rate), AdamW with timm's exclusion.
 */
const MODELS = {
  resnet: {
    label: 'bottleneck ResNet (6 blocks)', rate: 0.2,
    build: (dp, {rate, blockType, seed}) => dp.resnet({inputShape: [28, 28, 1], numClasses: 10, stem: {filters: 16, kernelSize: 3, strides: 2},
      reduction: 2, stages: [{filters: 32, blocks: 2}, {filters: 64, blocks: 2, strides: 2}, {filters: 128, blocks: 2, strides: 2}],
      dropPathRate: rate, schedule: 'linear', blockType, seed}),
    optimizer: (dp) => dp.optimizers.adam(2e-3), batchSize: 64,
  },
  vit: {
    label: 'ViT (dim 64, 6 blocks, patch 4)', rate: 0.1,
    build: (dp, {rate, blockType, seed}) => dp.vit({imageSize: 28, patchSize: 4, inChannels: 1, dim: 64, depth: 6, heads: 4, mlpRatio: 2,
      numClasses: 10, dropPathRate: rate, blockType, seed}),
    optimizer: (dp) => dp.optimizers.adamw({learningRate: 1e-3, weightDecay: 0.05, exclude: 'timm'}), batchSize: 64,
  },
};
const CONFIGS = [
  {key: 'none', label: 'no drop path', blockType: 'dropPath', rated: false},
  {key: 'mask', label: 'DropPath layer (mask)', blockType: 'dropPath', rated: true},
  {key: 'skip', label: "StochasticResidual 'skip'", blockType: 'stochasticResidual', rated: true},
  {key: 'early', label: `DropPath, early (first ${EARLY_EPOCHS} epochs)`, blockType: 'dropPath', rated: true, early: true},
];
const models = values.models.split(',');
if (models.length === 0 || models.some((m) => !MODELS[m])) fail(`--models must list entries of ${Object.keys(MODELS).join(', ')}, but received "${values.models}".`);

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function trainRun(tf, dp, data, model, config, seed) {
  const spec = MODELS[model];
  const rate = config.rated ? spec.rate : 0;
  const net = spec.build(dp, {rate, blockType: config.blockType, seed});
  net.compile({optimizer: spec.optimizer(dp), loss: 'categoricalCrossentropy', metrics: ['accuracy']});
  const scheduler = config.early ? new dp.DropPathScheduler({schedule: dp.timeSchedules.early(rate, EARLY_EPOCHS)}) : null;
  const epochs = [];
  let wall = 0;
  for (let e = 0; e < EPOCHS; e++) {
    const order = tf.tensor1d(permutation(TRAIN, seed * 7919 + e), 'int32');
    const xs = tf.gather(data.trainX, order);
    const ys = tf.gather(data.trainY, order);
    const t0 = process.hrtime.bigint();
    const h = await net.fit(xs, ys, {epochs: e + 1, initialEpoch: e, batchSize: spec.batchSize, shuffle: false, verbose: 0,
      callbacks: scheduler ? [scheduler] : []});
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    wall += seconds;
    tf.dispose([order, xs, ys]);
    const [loss, acc] = net.evaluate(data.testX, data.testY, {batchSize: 500});
    const row = {epoch: e + 1, trainLoss: h.history.loss[0], testLoss: (await loss.data())[0], testAccuracy: (await acc.data())[0],
      seconds, wallSeconds: wall, rate: h.history.dropPathRate ? h.history.dropPathRate[0] : rate};
    tf.dispose([loss, acc]);
    epochs.push(row);
    console.log(`  ${model} ${config.key} seed ${seed} epoch ${e + 1}/${EPOCHS}: train loss ${row.trainLoss.toFixed(4)}, ` +
      `test acc ${(100 * row.testAccuracy).toFixed(2)}%, test loss ${row.testLoss.toFixed(4)}, ${seconds.toFixed(1)} s`);
  }
  const params = net.countParams();
  net.dispose();
  const last = epochs[epochs.length - 1];
  return {model, config: config.key, label: config.label, seed, rate, params, testAccuracy: last.testAccuracy, testLoss: last.testLoss,
    trainLoss: last.trainLoss, secondsPerEpoch: median(epochs.map((r) => r.seconds)), trainSeconds: wall, epochs};
}

const pct = (v) => (100 * v).toFixed(2);
const ms = (v, digits, scale = 1) => `${(scale * mean(v)).toFixed(digits)} ± ${(scale * sd(v)).toFixed(digits)}`;

function markdown(result) {
  const lines = [`# Evidence: Fashion-MNIST, stochastic depth against none (tfjs-drop-path ${result.plugin})`, '',
    `Made by \`${result.command}\` (${result.date.slice(0, 10)}): Fashion-MNIST from ${result.dataDir}, the first ` +
    `${result.settings.train} training images and the full ${result.settings.test}-image test set, no augmentation, pixels ` +
    `standardized; ${result.settings.epochs} epochs, batch 64; seeds ${result.settings.seeds.join(', ')} (weights, shuffles and drops ` +
    `from the seed; every configuration of a seed sees the same batches). Backend ${result.backend}, tfjs ${result.tfjs}, ` +
    `Node ${result.node}, ${result.hardware}. Mean ± sample standard deviation over the seeds, per-seed values in brackets; ` +
    'the last epoch\'s test accuracy and loss. Paired Δ: the run minus no drop path on the same seed, mean and its 95% ' +
    'Student-t interval over the seeds (n − 1 degrees of freedom); an interval that excludes 0 is a difference the seeds support. Seconds are training time only (evaluation excluded), runs one after another.', ''];
  const total = result.settings.seeds.length * result.settings.models.length * CONFIGS.length;
  if (result.runs.length < total) {
    lines.push(`**Part-way: ${result.runs.length} of ${total} runs** (the rest: \`${result.command} --resume\`).`, '');
  }
  for (const model of result.settings.models) {
    const spec = MODELS[model];
    const runs = result.runs.filter((r) => r.model === model);
    if (runs.length === 0) continue;
    const base = runs.filter((r) => r.config === 'none');
    lines.push(`## ${spec.label}, drop path ${spec.rate}${model === 'resnet' ? ' (linear)' : ' (linspace)'}`, '',
      `${runs[0].params} parameters. Optimizer: ${model === 'resnet' ? 'Adam 2e-3' : 'AdamW 1e-3, weight decay 0.05 (not on biases, norms, tokens)'}.`, '',
      '| run | test accuracy (%) | test loss | final train loss | s / epoch | training s in all | accuracy above no drop path | ' +
        'paired Δ accuracy (points), 95% CI | paired Δ test loss, 95% CI |',
      '|---|---|---|---|---|---|---|---|---|');
    for (const config of CONFIGS) {
      const rs = runs.filter((r) => r.config === config.key).sort((a, b) => a.seed - b.seed);
      if (rs.length === 0) continue;
      const acc = rs.map((r) => r.testAccuracy);
      // Against no drop path on the same seeds (seeds without a baseline run yet are left out).
      const pairs = rs.map((r) => [r, base.find((x) => x.seed === r.seed)]).filter(([, b]) => b);
      const better = config.key === 'none' ? '—' : `${pairs.filter(([r, b]) => r.testAccuracy > b.testAccuracy).length} of ${pairs.length} seeds`;
      const delta = (f, digits, scale = 1) => {
        if (config.key === 'none' || pairs.length === 0) return '—';
        const p = paired(pairs.map(([r]) => scale * f(r)), pairs.map(([, b]) => scale * f(b)));
        const sign = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
        return p.lo === null ? sign(p.mean) : `${sign(p.mean)} [${sign(p.lo)}, ${sign(p.hi)}]`;
      };
      // The label the runs were made with (early's epochs come from their settings, not this call's).
      lines.push(`| ${rs[0].label} | ${ms(acc, 2, 100)} (${acc.map(pct).join(', ')}) | ${ms(rs.map((r) => r.testLoss), 3)} | ` +
        `${ms(rs.map((r) => r.trainLoss), 3)} | ${ms(rs.map((r) => r.secondsPerEpoch), 1)} | ${ms(rs.map((r) => r.trainSeconds), 0)} | ${better} | ` +
        `${delta((r) => r.testAccuracy, 2, 100)} | ${delta((r) => r.testLoss, 3)} |`);
    }
    lines.push('');
  }
  lines.push('![test accuracy against epochs and against training seconds, mean over the seeds](evidence-chart.png)', '');
  return lines.join('\n');
}

/** Mean over the seeds of each epoch's test accuracy and cumulative seconds, per configuration. */
function curves(result, model) {
  return CONFIGS.map((config) => {
    const rs = result.runs.filter((r) => r.model === model && r.config === config.key);
    if (rs.length === 0) return null;
    const n = Math.min(...rs.map((r) => r.epochs.length));
    const at = (i, f) => mean(rs.map((r) => f(r.epochs[i])));
    return {label: rs[0].label, epochs: Array.from({length: n}, (_, i) => ({epoch: i + 1, acc: 100 * at(i, (e) => e.testAccuracy),
      wall: at(i, (e) => e.wallSeconds)}))};
  }).filter(Boolean);
}

function chart(result) {
  const {panel, esc, COLORS, ticks, svgToPng} = require('../digits/chart');
  const W = 1100;
  const rowH = 360;
  const shown = result.settings.models.filter((m) => result.runs.some((r) => r.model === m));
  const H = 60 + rowH * shown.length + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="26" text-anchor="middle" font-size="16">Fashion-MNIST (${result.settings.train} train / ` +
    `${result.settings.test} test), test accuracy, mean over seeds ${[...new Set(result.runs.map((r) => r.seed))].sort((a, b) => a - b).join(', ')}</text>`];
  shown.forEach((model, row) => {
    const cs = curves(result, model);
    const y0 = 80 + row * rowH;
    const series = (x) => cs.map((c, i) => ({color: COLORS[i], dash: CONFIGS[i].key === 'early',
      points: c.epochs.map((e) => [x(e), e.acc])}));
    const xMax = Math.max(...cs.map((c) => c.epochs.length));
    parts.push(panel({x0: 90, y0, w: 420, h: 240, title: `${MODELS[model].label}: against epochs`, yLabel: 'test accuracy (%)',
      series: series((e) => e.epoch), xMax, yFormat: (v) => v.toFixed(1)}));
    const wallMax = Math.max(...cs.flatMap((c) => c.epochs.map((e) => e.wall)));
    parts.push(panel({x0: 620, y0, w: 420, h: 240, title: `${MODELS[model].label}: against training time`, yLabel: 'test accuracy (%)',
      series: series((e) => e.wall), xTicks: ticks(0, wallMax), xLabel: 'training seconds (mean over seeds)', yFormat: (v) => v.toFixed(1)}));
    cs.forEach((c, i) => parts.push(`<g transform="translate(${90 + i * 250},${y0 + 290})"><line x1="0" x2="26" y1="0" y2="0" ` +
      `stroke="${COLORS[i]}" stroke-width="3"${CONFIGS[i].key === 'early' ? ' stroke-dasharray="6 4"' : ''}/>` +
      `<text x="32" y="4" font-size="12">${esc(c.label)}</text></g>`));
  });
  parts.push('</svg>');
  return svgToPng(parts.join('\n'));
}

/** Writes the tables (keeping a hand-written "## Reading" section of the file there, if any) and the chart. */
function writeReport(result) {
  const file = path.join(OUT, 'evidence.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const at = old.indexOf('\n## Reading');
  fs.writeFileSync(file, markdown(result) + (at >= 0 ? old.slice(at) : ''));
  fs.writeFileSync(path.join(OUT, 'evidence-chart.png'), chart(result));
}

async function main() {
  if (values.report) {
    const result = JSON.parse(fs.readFileSync(path.join(OUT, 'evidence.json'), 'utf8'));
    writeReport(result);
    console.log(`${markdown(result)}\nwrote ${path.join(OUT, 'evidence.md')} and evidence-chart.png from ${result.runs.length} runs`);
    return;
  }
  require('tfjs-drop-path/node-compat');
  const tf = require('@tensorflow/tfjs-node');
  const dp = require('tfjs-drop-path');
  const fashion = loadFashionMnist();
  // Standardized with the training subset's own mean and deviation.
  const toX = (images, n) => tf.tidy(() => tf.div(tf.tensor4d(Float32Array.from(images.subarray(0, n * 784)), [n, 28, 28, 1]), 255));
  const raw = toX(fashion.train.images, TRAIN);
  const {mean: mu, variance} = tf.moments(raw);
  const [m, s] = [mu.dataSync()[0], Math.sqrt(variance.dataSync()[0])];
  const norm = (x) => tf.tidy(() => tf.div(tf.sub(x, m), s));
  const testRaw = toX(fashion.test.images, TEST);
  const data = {trainX: norm(raw), trainY: tf.oneHot(tf.tensor1d(Array.from(fashion.train.labels.subarray(0, TRAIN)), 'int32'), 10),
    testX: norm(testRaw), testY: tf.oneHot(tf.tensor1d(Array.from(fashion.test.labels.subarray(0, TEST)), 'int32'), 10)};
  tf.dispose([raw, testRaw, mu, variance]);
  const file = path.join(OUT, 'evidence.json');
  const settings = {seeds: SEEDS, models, train: TRAIN, test: TEST, epochs: EPOCHS, earlyEpochs: EARLY_EPOCHS,
    rates: Object.fromEntries(models.map((k) => [k, MODELS[k].rate]))};
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let result = {plugin: dp.version, backend: tf.getBackend(), tfjs: tf.version.tfjs, node: process.versions.node,
    hardware: `${cpu.trim()}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`, dataDir: fashion.dir,
    command: `npm run evidence -- --seeds ${SEEDS.join(',')} --models ${models.join(',')} --train ${TRAIN} --test ${TEST} --epochs ${EPOCHS}`,
    settings, date: new Date().toISOString(), runs: []};
  if (values.resume && fs.existsSync(file)) {
    const old = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (JSON.stringify(old.settings) !== JSON.stringify(settings)) fail(`--resume: ${file} was made with other settings (${JSON.stringify(old.settings)}).`);
    result = {...result, runs: old.runs};
    console.log(`resuming: ${old.runs.length} runs already in ${file}`);
  }
  fs.mkdirSync(OUT, {recursive: true});
  const started = Date.now();
  // Seed by seed, every configuration of both models in turn: a change in the machine's load hits all alike.
  for (const seed of SEEDS) {
    for (const model of models) {
      for (const config of CONFIGS) {
        if (result.runs.some((r) => r.model === model && r.config === config.key && r.seed === seed)) continue;
        console.log(`== ${model} ${config.label}, seed ${seed}`);
        result.runs.push(await trainRun(tf, dp, data, model, config, seed));
        result.totalSeconds = (Date.now() - started) / 1000;
        const tmp = `${file}.tmp`;
        fs.writeFileSync(tmp, `${JSON.stringify(result, null, 1)}\n`);
        fs.renameSync(tmp, file);
      }
    }
  }
  writeReport(result);
  console.log(`\n${markdown(result)}\nwrote ${file}, evidence.md and evidence-chart.png in ${((Date.now() - started) / 60000).toFixed(0)} min`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
