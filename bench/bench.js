#!/usr/bin/env node
/**
 * Training-step benchmark on tfjs-node (`npm run bench`). One bottleneck
 * ResNet (8 blocks, as in DESIGN.md §6) per variant and max rate, all trained
 * in ONE process with the variants interleaved step by step (so load changes
 * hit all of them alike); each variant's time is the median over many steps
 * after a warm-up, and every ratio is between medians of the same run.
 *
 * Two tables per size. (1) The builders' fast blocks against the same network
 * from stock tf.layers, as a user writes it (conv2d with its default bias,
 * batchNormalization, activation) and as the builders write it with
 * `fastPath: false` (no bias, stock training calls). (2) Stochastic depth
 * methods on the fast blocks against no drop path, with the share of the step
 * spent in droppable branches (measured: every block's branch skipped) and
 * the honest limit 1 / (1 − mean rate × share) beside the ideal. TensorFlow
 * ops per step are counted on the backend for one step of each model.
 *
 * Optimizer: Adam by default (--optimizer sgd for SGD). The stock networks train with
 * tf.train's optimizer; the builders' with the package's grouped one (optimizers.adam /
 * optimizers.sgd: one flat update per step), and one more row gives the builders'
 * blocks with tf.train's, to show each gain on its own.
 *
 * Anchors: with --python PY (or TFDP_BENCH_PYTHON), a Python that has keras 3 with
 * tensorflow and torch, the same network also trains in Keras (its compiled train step) and
 * in PyTorch (eager, 2 threads) — bench/anchors.py, one process each, their steps
 * interleaved with the TF.js models' — and an anchors table compares them. Such a Python
 * from the local wheels: `python3 -m venv venv && PIP_RETRIES=0 venv/bin/pip install
 * tensorflow-cpu==2.21.0 keras==3.15.1 torch`.
 *
 * ViT: ViT-Ti at 32×32 (patch 4, batch 32, AdamW) without drop path and with it at DINOv2's 0.4 as
 * DropPath, 'skip' 'row' and 'skip' 'batch'; with an anchor Python that also has timm (`pip install timm
 * safetensors`), timm's ViT-Ti at 0 and 0.4 beside them. --no-vit leaves the table out.
 *
 * Usage: node bench/bench.js [--steps N] [--warmup N] [--rates 0.1,0.5]
 *                              [--sizes 16,32] [--optimizer adam|sgd] [--python PY] [--out DIR] [--smoke] [--no-vit]
 */
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const fs = require('fs');
const os = require('os');
const path = require('path');
const {parseArgs} = require('util');

require('tfjs-drop-path/node-compat');
const tf = require('@tensorflow/tfjs-node');
const dp = require('tfjs-drop-path');
const {watchOps} = require('./backend_ops');

const {values: argv} = parseArgs({options: {
  steps: {type: 'string'}, warmup: {type: 'string'}, rates: {type: 'string'}, sizes: {type: 'string'},
  out: {type: 'string'}, smoke: {type: 'boolean'}, 'no-vit': {type: 'boolean'}, optimizer: {type: 'string'}, python: {type: 'string'},
  help: {type: 'boolean', short: 'h'},
}});
if (argv.help) {
  console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0]);
  process.exit(0);
}
const smoke = Boolean(argv.smoke);
const STEPS = Number(argv.steps ?? (smoke ? 2 : 40));
const WARMUP = Number(argv.warmup ?? (smoke ? 1 : 5));
const RATES = (argv.rates ?? (smoke ? '0.5' : '0.1,0.2,0.3,0.5')).split(',').map(Number);
const SIZES = (argv.sizes ?? (smoke ? '8' : '16,32')).split(',').map(Number);
const OUT = argv.out ?? (smoke ? fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-bench-')) : __dirname);
const BATCH = smoke ? 8 : 32;
const CHANNELS = smoke ? 16 : 64;
const BLOCKS = smoke ? 2 : 8;
const OPTIMIZER = argv.optimizer ?? 'adam';
if (!['adam', 'sgd'].includes(OPTIMIZER)) throw new Error(`--optimizer must be adam or sgd, but received '${OPTIMIZER}'.`);
/** tf.train's optimizer (stock), or the package's grouped one with the same update. */
const optimizerFor = (grouped) => (OPTIMIZER === 'adam' ? (grouped ? dp.optimizers.adam(1e-3) : tf.train.adam(1e-3)) :
  (grouped ? dp.optimizers.sgd(0.01) : tf.train.sgd(0.01)));

/**
 * The Keras/timm mask as users write it: `branch / keep * floor(keep + U)`,
 * two full-size ops on the branch. Kept here only as a baseline.
 */
class KerasStyleDrop extends tf.layers.Layer {
  static className = 'BenchKerasStyleDrop';
  constructor(args) {
    super(args);
    this.rate = args.rate;
  }
  call(inputs, kwargs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (kwargs.training !== true || this.rate === 0) return x.clone();
      const keep = 1 - this.rate;
      const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
      const mask = tf.floor(tf.add(keep, tf.randomUniform(shape)));
      return tf.mul(tf.div(x, keep), mask);
    });
  }
}

/** The fast-vs-stock comparison (no drop path in any). */
const BASELINES = [
  {key: 'stock', label: 'stock tf.layers (conv2d with bias, batchNormalization, activation)', stock: true},
  {key: 'stock_nobias', label: "builders with fastPath: false (no conv bias, stock training calls)", build: {blockType: 'plain', fastPath: false}},
  {key: 'fast_tftrain', label: "builders' fast blocks with tf.train's optimizer", build: {blockType: 'plain'}, tfTrain: true},
];
/** Every block's branch skipped (rate 1, 'skip' 'batch'): what is left is the step outside droppable branches. */
const ALL_DROPPED = {key: 'all_dropped', label: 'every branch skipped', build: {blockType: 'stochasticResidual', strategy: 'skip', dropPathMode: 'batch'}};

const METHODS = [
  {key: 'none', label: 'no drop path', build: {blockType: 'plain'}},
  {key: 'keras', label: 'Keras-style mask (x + b/keep·floor(keep+U))', build: {blockType: 'plain'}, keras: true},
  {key: 'droppath', label: 'DropPath layer', build: {blockType: 'dropPath'}},
  {key: 'mask', label: "StochasticResidual 'mask'", build: {blockType: 'stochasticResidual', strategy: 'mask'}},
  {key: 'skip_row', label: "StochasticResidual 'skip' 'row'", build: {blockType: 'stochasticResidual', strategy: 'skip'}},
  {key: 'skip_batch', label: "StochasticResidual 'skip' 'batch'",
    build: {blockType: 'stochasticResidual', strategy: 'skip', dropPathMode: 'batch'}},
];

/** conv2d (default bias) → batchNormalization → activation, all stock tf.layers with their default training calls. */
function stockConvBnAct(x, filters, kernelSize, activation, name) {
  const conv = tf.layers.conv2d({filters, kernelSize, padding: 'same', name: `${name}_conv`}).apply(x);
  const bn = tf.layers.batchNormalization({momentum: 0.9, name: `${name}_bn`}).apply(conv);
  return activation ? tf.layers.activation({activation, name: `${name}_act`}).apply(bn) : bn;
}

/** 8 bottlenecks on [size, size, CHANNELS], linear decay to maxRate (or every rate = maxRate for ALL_DROPPED), pooled dense head. */
function buildModel(method, size, maxRate) {
  const rates = method === ALL_DROPPED ? new Array(BLOCKS).fill(1) : dp.schedules.linear(BLOCKS, maxRate);
  const input = tf.input({shape: [size, size, CHANNELS]});
  let x = input;
  rates.forEach((rate, i) => {
    const name = `${method.key}_${size}_${maxRate}_b${i}`.replace('.', '_');
    if (method.stock) {
      const branch = stockConvBnAct(stockConvBnAct(stockConvBnAct(x, CHANNELS / 4, 1, 'relu', `${name}_r`),
        CHANNELS / 4, 3, 'relu', `${name}_c`), CHANNELS, 1, null, `${name}_e`);
      x = tf.layers.activation({activation: 'relu'}).apply(tf.layers.add().apply([x, branch]));
    } else if (method.keras) {
      // The same block, with the drop written by hand on the branch.
      const branch = dp.convBnAct(dp.convBnAct(dp.convBnAct(x, {filters: CHANNELS / 4, kernelSize: 1, name: `${name}_r`}),
        {filters: CHANNELS / 4, kernelSize: 3, name: `${name}_c`}), {filters: CHANNELS, kernelSize: 1, activation: null, name: `${name}_e`});
      const dropped = new KerasStyleDrop({rate, name: `${name}_drop`}).apply(branch);
      x = tf.layers.activation({activation: 'relu'}).apply(tf.layers.add().apply([x, dropped]));
    } else {
      x = dp.bottleneck(x, {filters: CHANNELS, dropPathRate: rate, name, seed: i, ...method.build});
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x);
  const out = tf.layers.dense({units: 10, activation: 'softmax'}).apply(pooled);
  const model = tf.model({inputs: input, outputs: out});
  // Stock networks and the fastPath: false builders train with tf.train's optimizer, the fast blocks with the grouped one.
  const grouped = !(method.stock || method.tfTrain || method.build?.fastPath === false);
  model.compile({optimizer: optimizerFor(grouped), loss: 'categoricalCrossentropy'});
  return model;
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Deterministic shuffle of the run order each round (interleaving without a fixed position bias). */
function shuffled(items, round) {
  const a = [...items];
  let s = (round * 2654435761) >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** TensorFlow ops one training step runs (null where the backend does not run TensorFlow ops by name). */
async function countOps(model, x, y) {
  let count = 0;
  const done = await watchOps(tf, () => { count++; }, () => model.trainOnBatch(x, y));
  return done === null ? null : count;
}

const PYTHON = argv.python ?? process.env.TFDP_BENCH_PYTHON;

/** One anchor framework's process (bench/anchors.py), stepped on request; null when it cannot start. */
async function startAnchor(framework, size, args = [String(size), OPTIMIZER, String(BLOCKS), String(CHANNELS), String(BATCH)]) {
  const {spawn} = require('child_process');
  const readline = require('readline');
  const child = spawn(PYTHON, [path.join(__dirname, 'anchors.py'), framework, ...args],
    {stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, TF_CPP_MIN_LOG_LEVEL: '3'}});
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const lines = readline.createInterface({input: child.stdout});
  const waiting = [];
  const queued = [];
  lines.on('line', (l) => (waiting.length ? waiting.shift()(l) : queued.push(l)));
  const next = () => new Promise((resolve, reject) => {
    if (queued.length) return resolve(queued.shift());
    const onExit = (code) => reject(new Error(`anchors.py ${framework} exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    child.once('exit', onExit);
    waiting.push((l) => { child.off('exit', onExit); resolve(l); });
  });
  try {
    const ready = await next();
    const params = Number(ready.split(' ')[1]);
    return {framework, params, times: [],
      step: async () => { child.stdin.write('step\n'); return Number(await next()); },
      close: () => { child.stdin.end('quit\n'); }};
  } catch (e) {
    console.error(`  anchor ${framework} ${args.join(' ')} not run: ${e.message}`);
    child.kill();
    return null;
  }
}

const meanRateOf = (maxRate) => (maxRate === 0 ? 0 : dp.schedules.linear(BLOCKS, maxRate).reduce((s, r) => s + r, 0) / BLOCKS);

async function benchSize(size) {
  const x = tf.randomNormal([BATCH, size, size, CHANNELS], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: BATCH}, (_, i) => i % 10), 'int32'), 10);
  // One 'none' model (fast blocks, no drop path) serves every rate as the baseline of table 2.
  const entries = [{method: METHODS[0], rate: 0}, ...BASELINES.map((method) => ({method, rate: 0})), {method: ALL_DROPPED, rate: 1}];
  for (const rate of RATES) {
    for (const method of METHODS.slice(1)) entries.push({method, rate});
  }
  let measuring = false;
  for (const e of entries) {
    e.model = buildModel(e.method, size, e.rate);
    e.times = [];
    // The drops the measured steps actually made: each drop layer's decisions, counted per block.
    e.drops = [];
    for (const layer of e.model.layers.filter((l) => l.drop && typeof l.drop.next === 'function')) {
      const count = {dropped: 0, total: 0};
      e.drops.push(count);
      const next = layer.drop.next.bind(layer.drop);
      layer.drop.next = (batch, rate) => {
        const d = next(batch, rate);
        if (measuring) {
          count.total += batch;
          count.dropped += d.keep.length === 1 ? (d.keep[0] ? 0 : batch) : d.keep.filter((k) => !k).length;
        }
        return d;
      };
    }
    for (let i = 0; i < WARMUP; i++) await e.model.trainOnBatch(x, y);
    e.opsPerStep = await countOps(e.model, x, y);
    const paths = dp.trainingPaths(e.model).counts;
    e.paths = paths;
  }
  const anchors = [];
  if (PYTHON) {
    for (const framework of ['keras', 'torch']) {
      const a = await startAnchor(framework, size);
      if (a) anchors.push(a);
    }
  }
  if (!smoke) console.error(`  ${size}×${size}: ${entries.length} models warmed up, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
  const rssBefore = process.memoryUsage().rss;
  measuring = true;
  for (let step = 0; step < STEPS; step++) {
    for (const e of shuffled([...entries, ...anchors], step + size)) {
      if (e.framework) {
        e.times.push(await e.step());
        continue;
      }
      const before = tf.memory().numTensors;
      const t0 = process.hrtime.bigint();
      await e.model.trainOnBatch(x, y); // returns the loss value: the step has finished
      e.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      e.tensorGrowth = (e.tensorGrowth ?? 0) + tf.memory().numTensors - before;
    }
    if (!smoke) {
      const line = `  ${size}×${size}: step ${step + 1}/${STEPS}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`;
      if (process.stderr.isTTY) process.stderr.write(`\r${line}   `);
      else if ((step + 1) % 5 === 0) console.error(line);
    }
  }
  measuring = false;
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  const none = entries[0];
  const base = median(none.times);
  // The within-run spread of a ratio: the same ratio from the even and from the odd steps alone.
  const half = (times, parity) => times.filter((_, i) => i % 2 === parity);
  const spread = (e, ref) => Math.abs(median(half(ref.times, 0)) / median(half(e.times, 0)) - median(half(ref.times, 1)) / median(half(e.times, 1)));
  const branchShare = 1 - median(entries[1 + BASELINES.length].times) / base;
  const rows = entries.map((e) => {
    const meanRate = e.method === ALL_DROPPED ? 1 : meanRateOf(e.rate);
    // Blocks without a drop layer (rate 0 is still a layer in the builders) count as never dropped.
    const realizedRate = e.drops.length === 0 ? 0 : e.drops.reduce((acc, d) => acc + (d.total ? d.dropped / d.total : 0), 0) / BLOCKS;
    return {
      size, method: e.method.key, label: e.method.label, maxRate: e.rate, meanRate,
      medianMs: median(e.times), meanMs: e.times.reduce((s, t) => s + t, 0) / e.times.length,
      speedup: base / median(e.times), halfSpread: spread(e, none),
      ideal: 1 / (1 - meanRate), limit: 1 / (1 - meanRate * branchShare),
      realizedRate, realizedLimit: 1 / (1 - realizedRate * branchShare),
      opsPerStep: e.opsPerStep, trainingPaths: e.paths, tensorGrowthPerStep: e.tensorGrowth / STEPS,
    };
  });
  const stock = entries[1];
  const fastVsStock = BASELINES.map((b, i) => {
    const e = entries[1 + i];
    return {baseline: b.key, label: b.label, medianMs: median(e.times), opsPerStep: e.opsPerStep,
      speedup: median(e.times) / base, halfSpread: spread(stock === e ? e : e, none)};
  });
  const rssAfter = process.memoryUsage().rss;
  const trainable = (m) => m.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  const anchorRows = [
    {key: 'tfjs', label: "TF.js: the builders' fast blocks, grouped optimizer", params: trainable(none.model), medianMs: base},
    {key: 'tfjs_stock', label: `TF.js: stock tf.layers, tf.train.${OPTIMIZER}`, params: trainable(stock.model), medianMs: median(stock.times)},
    ...anchors.map((a) => ({key: a.framework, label: a.framework === 'keras' ? 'Keras 3.15, TensorFlow backend (compiled train step)' :
      'PyTorch, eager, 2 threads', params: a.params, medianMs: median(a.times), halfSpreadVsTfjs:
      Math.abs(median(half(a.times, 0)) / median(half(none.times, 0)) - median(half(a.times, 1)) / median(half(none.times, 1)))})),
  ].map((r) => ({...r, tfjsOverThis: base / r.medianMs}));
  anchors.forEach((a) => a.close());
  entries.forEach((e) => e.model.dispose());
  tf.dispose([x, y]);
  return {size, rows, fastVsStock, anchors: anchorRows, branchShare, fastMs: base, fastOps: none.opsPerStep, fastPaths: none.paths,
    rssBeforeMB: rssBefore / 2 ** 20, rssAfterMB: rssAfter / 2 ** 20};
}

/**
 * A real family: keras.applications ResNet50 as its constructor builds it (the reduced-width fixture, 16
 * blocks, 32×32), read with loadKerasModel and switched to the fast blocks, against addDropPath's 'mask' and
 * 'skip' forms at linspace rates up to `rate`; interleaved steps, medians, ratios against the unmodified model.
 */
async function benchFamily(rate) {
  const keras = require('tfjs-drop-path/keras');
  const file = path.join(__dirname, '..', 'test', 'fixtures', 'keras', 'residual', 'resnet50_reduced.keras');
  const original = await keras.loadKerasModel(file);
  dp.useFastBlocks(original);
  const variants = [{key: 'unmodified', model: original},
    {key: 'mask', model: dp.addDropPath(original, {rate, strategy: 'mask', seed: 1}).model},
    {key: 'skip', model: dp.addDropPath(original, {rate, strategy: 'skip', seed: 1}).model}];
  const x = tf.randomUniform([BATCH, 32, 32, 3], 0, 255, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: BATCH}, (_, i) => i % 3), 'int32'), 3);
  for (const v of variants) {
    v.model.compile({optimizer: optimizerFor(true), loss: 'categoricalCrossentropy'});
    v.times = [];
    for (let i = 0; i < WARMUP; i++) await v.model.trainOnBatch(x, y);
  }
  for (let step = 0; step < STEPS; step++) {
    for (const v of shuffled(variants, step)) {
      const t = process.hrtime.bigint();
      await v.model.trainOnBatch(x, y);
      v.times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  const base = median(variants[0].times);
  const rows = variants.map((v) => ({key: v.key, medianMs: median(v.times), speedup: base / median(v.times)}));
  variants.forEach((v) => v.model.dispose());
  tf.dispose([x, y]);
  return {family: 'keras.applications ResNet50 (reduced width, 16 blocks, 32×32)', rate, rows};
}

/** The ViT table's rate: DINOv2's ViT-g recipe (linspace to 0.4 over the blocks). */
const VIT_RATE = 0.4;

/**
 * ViT-Ti (vit_tiny_patch16_224's width and depth at 32×32, patch 4, batch 32, AdamW with timm's decay exclusion),
 * no drop path against drop path linspace to 0.4 as DropPath (mask), 'skip' 'row' and 'skip' 'batch'; with an
 * anchor Python that has timm, timm's own ViT-Ti at 0 and at 0.4 in its processes, all steps interleaved.
 */
async function benchVit() {
  const shape = smoke ? {imageSize: 8, patchSize: 4, dim: 16, depth: 2, heads: 2} : {preset: 'vit_tiny_patch16_224', imageSize: 32, patchSize: 4};
  const variants = [
    {key: 'none', label: 'no drop path', rate: 0, build: {blockType: 'dropPath'}},
    {key: 'droppath', label: 'DropPath layer (mask)', rate: VIT_RATE, build: {blockType: 'dropPath'}},
    {key: 'skip_row', label: "StochasticResidual 'skip' 'row'", rate: VIT_RATE, build: {blockType: 'stochasticResidual'}},
    {key: 'skip_batch', label: "StochasticResidual 'skip' 'batch'", rate: VIT_RATE, build: {blockType: 'stochasticResidual', dropPathMode: 'batch'}},
  ];
  const size = shape.imageSize;
  const x = tf.randomNormal([BATCH, size, size, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d(Array.from({length: BATCH}, (_, i) => i % 10), 'int32'), 10);
  for (const v of variants) {
    v.model = dp.vit({...shape, numClasses: 10, dropPathRate: v.rate, seed: 1, ...v.build});
    v.model.compile({optimizer: dp.optimizers.adamw({learningRate: 5e-4, weightDecay: 0.05, exclude: 'timm'}), loss: 'categoricalCrossentropy'});
    v.times = [];
    for (let i = 0; i < WARMUP; i++) await v.model.trainOnBatch(x, y);
    v.opsPerStep = await countOps(v.model, x, y);
  }
  const anchors = [];
  if (PYTHON && !smoke) {
    for (const rate of [0, VIT_RATE]) {
      const a = await startAnchor('timm', size, [String(rate)]);
      if (a) anchors.push({...a, key: `timm_${rate}`, label: `timm ViT-Ti (PyTorch eager, 2 threads), drop path ${rate}`, rate});
    }
  }
  for (let step = 0; step < STEPS; step++) {
    for (const v of shuffled([...variants, ...anchors], step + 7)) {
      if (v.framework) {
        v.times.push(await v.step());
        continue;
      }
      const t = process.hrtime.bigint();
      await v.model.trainOnBatch(x, y);
      v.times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }
  anchors.forEach((a) => a.close());
  const base = median(variants[0].times);
  const half = (times, parity) => times.filter((_, i) => i % 2 === parity);
  const spread = (e) => Math.abs(median(half(variants[0].times, 0)) / median(half(e.times, 0)) -
    median(half(variants[0].times, 1)) / median(half(e.times, 1)));
  const params = variants[0].model.countParams();
  const rows = [...variants, ...anchors].map((v) => ({key: v.key, label: v.label, rate: v.rate, medianMs: median(v.times),
    speedup: base / median(v.times), halfSpread: spread(v), opsPerStep: v.opsPerStep ?? null, params: v.framework ? v.params : params}));
  variants.forEach((v) => v.model.dispose());
  tf.dispose([x, y]);
  return {shape, rate: VIT_RATE, rows};
}

const ratio = (v, spread) => `${v.toFixed(2)}×${spread === undefined ? '' : ` ±${spread.toFixed(2)}`}`;

function markdown(result) {
  const lines = [];
  for (const s of result.sizes) {
    const p = s.fastPaths;
    lines.push(`**${s.size}×${s.size}×${CHANNELS}, batch ${BATCH}, ${BLOCKS} bottleneck blocks, no drop path** — the builders' ` +
      `fast blocks (${p.fused} of ${p.fused + p.portable + p.stock} BatchNorm / ReLU layers fused) against the same network ` +
      `from stock tf.layers, ${OPTIMIZER === 'adam' ? 'Adam' : 'SGD'} (higher is faster)`, '');
    lines.push('| network | median step | TF ops per step | fast blocks\' speed-up |', '|---|---|---|---|');
    for (const b of s.fastVsStock) {
      lines.push(`| ${b.label} | ${b.medianMs.toFixed(1)} ms | ${b.opsPerStep ?? 'n/a'} | **${ratio(b.speedup, b.halfSpread)}** |`);
    }
    lines.push(`| builders' fast blocks with the grouped optimizer (the default) | ${s.fastMs.toFixed(1)} ms | ${s.fastOps ?? 'n/a'} | 1× |`, '');
    if (s.anchors.length > 2) {
      lines.push(`**${s.size}×${s.size}, the same network in the frameworks users would pick instead** — ` +
        `${OPTIMIZER === 'adam' ? 'Adam' : 'SGD'}, batch ${BATCH}, every process's steps interleaved in one run`, '',
        '| network | trainable parameters | median step | TF.js builders\' step / this |', '|---|---|---|---|',
        ...s.anchors.map((a) => `| ${a.label} | ${a.params} | ${a.medianMs.toFixed(1)} ms | ${ratio(a.tfjsOverThis, a.halfSpreadVsTfjs)} |`), '');
    }
    lines.push(`**${s.size}×${s.size}, stochastic depth on the fast blocks** — speed-up vs no drop path (median step ` +
      `${s.fastMs.toFixed(1)} ms). Droppable branches take ${(100 * s.branchShare).toFixed(1)}% of the step ` +
      '(1 − step with every branch skipped / step with none).', '');
    lines.push(`| method | ${RATES.map((r) => `p_L ${r}`).join(' | ')} |`, `|---|${RATES.map(() => '---').join('|')}|`);
    for (const m of METHODS.slice(1)) {
      const cells = RATES.map((r) => {
        const row = s.rows.find((x) => x.method === m.key && x.maxRate === r);
        return ratio(row.speedup, row.halfSpread);
      });
      lines.push(`| ${m.label.replace(/\|/g, '\\|')} | ${cells.join(' | ')} |`);
    }
    lines.push(`| honest limit, 1/(1 − mean rate × ${s.branchShare.toFixed(3)}) | ${RATES.map((r) => `${(1 / (1 - meanRateOf(r) * s.branchShare)).toFixed(2)}×`).join(' | ')} |`);
    for (const [mode, key] of [['row', 'skip_row'], ['batch', 'skip_batch']]) {
      const cells = RATES.map((r) => {
        const row = s.rows.find((x) => x.method === key && x.maxRate === r);
        return `${row.realizedLimit.toFixed(2)}× (${row.realizedRate.toFixed(3)})`;
      });
      lines.push(`| honest limit for the drops '${mode}' made (realized mean rate) | ${cells.join(' | ')} |`);
    }
    lines.push(`| ideal, 1/(1 − mean rate) | ${RATES.map((r) => `${(1 / (1 - meanRateOf(r))).toFixed(2)}×`).join(' | ')} |`);
    const ops = METHODS.slice(1).map((m) => {
      const row = s.rows.find((x) => x.method === m.key && x.maxRate === RATES[RATES.length - 1]);
      return `${m.key} ${row.opsPerStep ?? 'n/a'}`;
    });
    const growth = Math.max(...s.rows.map((r) => Math.abs(r.tensorGrowthPerStep)));
    lines.push('', `TF ops per step at p_L ${RATES[RATES.length - 1]} (one step; drops vary): ${ops.join(', ')}. ` +
      `Tensor count change per step after warm-up (all models): ${growth === 0 ? '0' : growth}. ` +
      `Process RSS ${s.rssBeforeMB.toFixed(0)} → ${s.rssAfterMB.toFixed(0)} MB over the measured steps.`, '');
  }
  if (result.vit) {
    const v = result.vit;
    lines.push(`**${v.shape.preset ? `ViT-Ti (${v.shape.preset} widths` : `ViT (dim ${v.shape.dim}, depth ${v.shape.depth}`}, ${v.shape.imageSize}×${v.shape.imageSize}, ` +
      `patch ${v.shape.patchSize}, batch ${BATCH}, AdamW), drop path linspace to ${v.rate} (DINOv2's rate)** — ` +
      'step and speed-up against the TF.js ViT without drop path; timm\'s in its own processes, steps interleaved', '',
      '| network | parameters | median step | TF ops per step | speed-up vs TF.js no drop path |', '|---|---|---|---|---|',
      ...v.rows.map((r) => `| ${r.key.startsWith('timm') ? r.label : `TF.js: ${r.label}${r.rate ? ` ${r.rate}` : ''}`} | ${r.params} | ` +
        `${r.medianMs.toFixed(1)} ms | ${r.opsPerStep ?? 'n/a'} | ${ratio(r.speedup, r.halfSpread)} |`), '');
  }
  if (result.family) {
    const f = result.family;
    lines.push(`**${f.family}, addDropPath at linspace rates up to ${f.rate}** — speed-up vs the unmodified model (fast blocks)`, '',
      '| form | median step | speed-up |', '|---|---|---|',
      ...f.rows.map((r) => `| ${r.key} | ${r.medianMs.toFixed(1)} ms | ${r.speedup.toFixed(2)}× |`), '');
  }
  lines.push(`${result.steps} measured steps per model after ${result.warmup} warm-up steps, all models interleaved in one ` +
    `process (${result.backend}, ${result.cpus} CPUs, Node ${result.node}, ${result.optimizer === 'adam' ? 'Adam' : 'SGD'}, ` +
    `TF_ENABLE_ONEDNN_OPTS=${result.onednn}); ` +
    'medians of per-step times. ±: the within-run spread, |ratio from even steps − ratio from odd steps|.');
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const sizes = [];
  for (const size of SIZES) sizes.push(await benchSize(size));
  const family = await benchFamily(RATES[RATES.length - 1]);
  const vit = argv['no-vit'] ? null : await benchVit();
  const result = {
    family, vit,
    plugin: dp.version, backend: tf.getBackend(), tfjs: tf.version.tfjs, node: process.versions.node,
    cpus: os.cpus().length, optimizer: OPTIMIZER, batch: BATCH, channels: CHANNELS, blocks: BLOCKS, steps: STEPS, warmup: WARMUP,
    rates: RATES, onednn: process.env.TF_ENABLE_ONEDNN_OPTS ?? 'unset (on)', sizes, seconds: (Date.now() - started) / 1000, date: new Date().toISOString(),
  };
  fs.mkdirSync(OUT, {recursive: true});
  fs.writeFileSync(path.join(OUT, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(result);
  fs.writeFileSync(path.join(OUT, 'results.md'), `${md}\n`);
  console.log(md);
  console.log(`\nwrote ${path.join(OUT, 'results.json')} and results.md in ${result.seconds.toFixed(0)} s`);
  const leaks = sizes.flatMap((s) => s.rows).filter((r) => r.tensorGrowthPerStep !== 0);
  if (leaks.length) {
    console.error(`tensor count grew per step for: ${leaks.map((r) => `${r.method}@${r.maxRate}`).join(', ')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
