#!/usr/bin/env node
/**
 * The digits demo (`npm run demo`): trains the same bottleneck ResNet, from the
 * same seed, on real MNIST digits without and with stochastic depth, prints a
 * comparison table, saves the drop-path model with tf.io and checks that it
 * loads back with identical predictions, and writes summary.json and charts.
 */
// Quiet libtensorflow's start-up lines (README: "What you see at start-up"); values you set are kept.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';

const fs = require('fs');
const path = require('path');
const {parseArgs} = require('util');

const {loadDigits, permutation, SIZE} = require('./data');
const {renderSvg, svgToPng} = require('./chart');

const DEFAULTS = {
  epochs: 16, samples: 1000, test: 2000, 'batch-size': 50, rate: 0.5, schedule: 'linear', seed: 1,
  out: path.join('runs', 'digits'), blocks: 'dropPath,skip',
};
const BLOCKS = {
  dropPath: {blockType: 'dropPath', label: 'DropPath layer'},
  skip: {blockType: 'stochasticResidual', strategy: 'skip', label: "StochasticResidual 'skip'"},
  mask: {blockType: 'stochasticResidual', strategy: 'mask', label: "StochasticResidual 'mask'"},
};
const TIME_SCHEDULES = ['constant', 'early:N', 'late:N', 'warmup:N'];
const SCHEDULES = ['linear', 'linspace', 'uniform'];
// A stride-2 stem (28×28 → 14×14), then three stages of two bottlenecks each
// (14×14, 7×7, 4×4), inner widths 16, 32, 64.
const ARCHITECTURE = {
  stem: {filters: 16, kernelSize: 3, strides: 2},
  reduction: 2,
  stages: [{filters: 32, blocks: 2}, {filters: 64, blocks: 2, strides: 2}, {filters: 128, blocks: 2, strides: 2}],
};

const USAGE = `Usage: npm run demo -- [options]     (or: node examples/digits/demo.js [options])

Trains the same bottleneck ResNet, from the same seed, on real handwritten
digits (the mnist package's 10,000 MNIST samples) without stochastic depth
and with it in each form given by --blocks, and compares them: test accuracy,
loss and seconds per epoch.

Options:
  --epochs N        training epochs per run                      (default ${DEFAULTS.epochs})
  --samples N       training digits                              (default ${DEFAULTS.samples})
  --test N          held-out test digits (a fixed set)           (default ${DEFAULTS.test})
  --batch-size N    batch size                                   (default ${DEFAULTS['batch-size']})
  --rate R          maximum drop rate p_L, in (0, 1]             (default ${DEFAULTS.rate})
  --schedule S      per-block rates: ${SCHEDULES.join(', ')}      (default ${DEFAULTS.schedule})
  --seed N          seed of initial weights, shuffles and drops  (default ${DEFAULTS.seed})
  --out DIR         output folder                                (default ${DEFAULTS.out})
  --blocks B,...    one drop-path run per entry: dropPath (the DropPath
                    layer after the conv block), skip (StochasticResidual,
                    dropped samples not computed), mask (StochasticResidual,
                    computed then masked)                        (default ${DEFAULTS.blocks})
  --time-schedule T also train a run (first of --blocks) whose rate changes over time:
                    ${TIME_SCHEDULES.join(', ')} (N epochs: early = on for the
                    first N, late = off for the first N, warmup = 0 → p_L over N)
  --prune           after training, remove 1/4 and 1/2 of the removable blocks
                    (deepest first) of each model and report test accuracy and
                    predict time
  -h, --help        this text

Writes DIR/summary.json, DIR/chart.svg, DIR/chart.png and the trained model of
the first drop-path run in DIR/model/ (model.json + its weights file). Seconds per
epoch are indicative (the runs train one after another); the speed claims rest
on npm run bench.`;

class UsageError extends Error {}

function intArg(values, name, min, max) {
  const raw = values[name];
  const v = Number(raw);
  if (!/^-?\d+$/.test(String(raw)) || v < min || v > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, but received "${raw}".`);
  }
  return v;
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({args: argv, strict: true, allowPositionals: false, options: {
      epochs: {type: 'string'}, samples: {type: 'string'}, test: {type: 'string'}, 'batch-size': {type: 'string'},
      rate: {type: 'string'}, schedule: {type: 'string'}, seed: {type: 'string'}, out: {type: 'string'},
      blocks: {type: 'string'}, 'time-schedule': {type: 'string'}, prune: {type: 'boolean'},
      help: {type: 'boolean', short: 'h'},
    }});
  } catch (e) {
    throw new UsageError(e.message);
  }
  const values = {...Object.fromEntries(Object.entries(DEFAULTS).map(([k, v]) => [k, String(v)])), ...parsed.values};
  if (values.help) return {help: true};
  const rate = Number(values.rate);
  if (!/^\d*\.?\d+$/.test(values.rate) || !(rate > 0 && rate <= 1)) {
    throw new UsageError(`--rate must be a number in (0, 1], but received "${values.rate}".`);
  }
  if (!SCHEDULES.includes(values.schedule)) {
    throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}, but received "${values.schedule}".`);
  }
  const blocks = values.blocks.split(',');
  if (blocks.length === 0 || blocks.some((b) => !Object.keys(BLOCKS).includes(b)) || new Set(blocks).size !== blocks.length) {
    throw new UsageError(`--blocks must be a comma-separated list of distinct entries from ${Object.keys(BLOCKS).join(', ')}, ` +
      `but received "${values.blocks}".`);
  }
  let timeSchedule = null;
  if (values['time-schedule'] !== undefined) {
    const m = /^(constant|early|late|warmup)(?::(\d+))?$/.exec(values['time-schedule']);
    if (!m || (m[1] !== 'constant') !== (m[2] !== undefined) || (m[2] !== undefined && Number(m[2]) < 1)) {
      throw new UsageError(`--time-schedule must be one of ${TIME_SCHEDULES.join(', ')} (N ≥ 1), ` +
        `but received "${values['time-schedule']}".`);
    }
    timeSchedule = {name: m[1], epochs: m[2] === undefined ? null : Number(m[2])};
  }
  return {
    blocks, timeSchedule, prune: Boolean(values.prune),
    epochs: intArg(values, 'epochs', 1, 1000),
    samples: intArg(values, 'samples', 10, 9000),
    test: intArg(values, 'test', 10, 9000),
    batchSize: intArg(values, 'batch-size', 1, 4096),
    rate, schedule: values.schedule,
    seed: intArg(values, 'seed', 0, 2 ** 31 - 1),
    out: values.out,
  };
}

/**
 * Creates the output folder and proves it writable, before any training: a
 * folder that cannot be written would otherwise waste the whole run. One level
 * at a time, because Node's recursive mkdir never returns for some paths
 * (under /proc it loops on ENOENT).
 */
function prepareOutDir(out) {
  const abs = path.resolve(out);
  try {
    const missing = [];
    let dir = abs;
    while (!fs.existsSync(dir)) {
      missing.unshift(dir);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
    for (const d of missing) fs.mkdirSync(d);
    const probe = path.join(abs, `.write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new UsageError(`--out must be a folder that can be created and written, but "${out}" cannot: ${e.message}`);
  }
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const fmtTime = (s) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/** Progress: a bar on a TTY, per-epoch lines always. */
function progress(tf, label, epochIndex, epochs, batches, etaAfterEpoch) {
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  return new tf.CustomCallback({
    onBatchEnd: async (batch, logs) => {
      if (!tty) return;
      const done = (batch + 1) / batches;
      const elapsed = (Date.now() - started) / 1000;
      const eta = elapsed / done - elapsed + etaAfterEpoch();
      const width = 24;
      const bar = '#'.repeat(Math.round(done * width)).padEnd(width, '-');
      process.stderr.write(`\r  ${label} epoch ${epochIndex + 1}/${epochs} [${bar}] ${(done * 100).toFixed(0).padStart(3)}%` +
        ` loss ${logs.loss.toFixed(3)}  ETA ${fmtTime(eta)}   `);
    },
  });
}

async function train(tf, dp, run, data, opts, etaOther, labelWidth) {
  const model = dp.resnet({
    inputShape: [SIZE, SIZE, 1], numClasses: 10, ...ARCHITECTURE,
    dropPathRate: run.rate, schedule: opts.schedule, seed: opts.seed, name: run.key,
    blockType: BLOCKS[run.block].blockType, strategy: BLOCKS[run.block].strategy,
  });
  const scheduler = run.timeSchedule ? new dp.DropPathScheduler({schedule: run.timeSchedule}) : null;
  model.compile({optimizer: tf.train.adam(2e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy']});
  const n = data.train.labels.length;
  const batches = Math.ceil(n / opts.batchSize);
  const epochs = [];
  for (let e = 0; e < opts.epochs; e++) {
    // A seeded shuffle per epoch, so that every run sees the same batches.
    const order = tf.tensor1d(permutation(n, opts.seed * 1000 + e), 'int32');
    const xs = tf.gather(data.trainXs, order);
    const ys = tf.gather(data.trainYs, order);
    const t0 = Date.now();
    const perEpoch = () => (epochs.length ? epochs.reduce((s, r) => s + r.seconds, 0) / epochs.length : 0);
    const h = await model.fit(xs, ys, {
      epochs: e + 1, initialEpoch: e, batchSize: opts.batchSize, shuffle: false, verbose: 0,
      callbacks: [...(scheduler ? [scheduler] : []), progress(tf, run.label, e, opts.epochs, batches,
        () => perEpoch() * (opts.epochs - e - 1) + etaOther(perEpoch()))],
    });
    const seconds = (Date.now() - t0) / 1000;
    tf.dispose([order, xs, ys]);
    const [testLoss, testAcc] = model.evaluate(data.testXs, data.testYs, {batchSize: 500});
    const row = {
      epoch: e + 1, trainLoss: h.history.loss[0], trainAccuracy: h.history.acc[0],
      testLoss: (await testLoss.data())[0], testAccuracy: (await testAcc.data())[0], seconds,
      dropPathRate: h.history.dropPathRate ? h.history.dropPathRate[0] : run.rate,
    };
    tf.dispose([testLoss, testAcc]);
    epochs.push(row);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const left = perEpoch() * (opts.epochs - e - 1) + etaOther(perEpoch());
    console.log(`  ${run.label.padEnd(labelWidth)} epoch ${e + 1}/${opts.epochs}  train loss ${row.trainLoss.toFixed(4)}` +
      `  test acc ${(100 * row.testAccuracy).toFixed(2)}%  ${seconds.toFixed(1)} s  ETA ${fmtTime(left)}`);
  }
  const last = epochs[epochs.length - 1];
  const rates = dp.dropPathSummary(model).rows.map((r) => r.rate);
  return {
    model,
    result: {
      key: run.key, label: run.label, block: run.block, maxRate: run.rate, timeSchedule: run.timeScheduleName ?? null,
      blockRates: rates,
      expectedDepth: rates.reduce((s, r) => s + (1 - r), 0),
      params: model.countParams(),
      testAccuracy: last.testAccuracy, testLoss: last.testLoss, trainLoss: last.trainLoss,
      // The median: the first epoch of the first run also pays tfjs-node's warm-up.
      secondsPerEpoch: median(epochs.map((r) => r.seconds)),
      epochs,
    },
  };
}

function table(results) {
  const rows = [
    ['run', 'test acc', 'test loss', 'train loss', 's/epoch', 'params', 'expected depth'],
    ...results.map((r) => [r.label, `${(100 * r.testAccuracy).toFixed(2)}%`, r.testLoss.toFixed(4),
      r.trainLoss.toFixed(4), r.secondsPerEpoch.toFixed(1), String(r.params),
      `${r.expectedDepth.toFixed(2)} / ${r.blockRates.length}`]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/**
 * Depth on demand: for each model, test accuracy and predict time at full
 * depth and with 1/4 and 1/2 of its removable blocks (identity shortcut)
 * removed, deepest first.
 */
async function pruneReport(tf, dp, models, runs, data) {
  const rows = [];
  for (let m = 0; m < models.length; m++) {
    const model = models[m];
    const blocks = dp.dropPathSummary(model).rows;
    // Blocks with an identity shortcut (a projection block keeps its projection when pruned, but is not removed here).
    const removable = blocks.map((b, i) => (b.removable && !hasProjection(model, b.name) ? i : -1)).filter((i) => i >= 0);
    for (const fraction of [0, 0.25, 0.5]) {
      const count = Math.round(removable.length * fraction);
      const removed = removable.slice(removable.length - count);
      const pruned = count === 0 ? model : dp.pruneBlocks(model, {keep: blocks.map((_, i) => i).filter((i) => !removed.includes(i))});
      if (pruned !== model) pruned.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy']});
      const [, acc] = pruned.evaluate(data.testXs, data.testYs, {batchSize: 500});
      const times = [];
      for (let r = 0; r < 7; r++) {
        const t0 = process.hrtime.bigint();
        const y = pruned.predict(data.testXs, {batchSize: 500});
        await y.data();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        y.dispose();
      }
      times.sort((a, b) => a - b);
      rows.push({run: runs[m].key, label: runs[m].label, fraction, blocks: blocks.length - count,
        removed: removed.map((i) => blocks[i].name), testAccuracy: (await acc.data())[0], predictMs: times[3]});
      tf.dispose(acc);
      if (pruned !== model) pruned.dispose();
    }
  }
  return rows;
}

/** Whether the block of drop layer `name` has a projection shortcut (its layers are named <block>_shortcut_…). */
function hasProjection(model, name) {
  const block = name.replace(/_(drop_path|residual)$/, '');
  const residual = model.layers.find((l) => l.name === `${block}_residual`);
  if (residual) return residual.shortcut !== null;
  return model.layers.some((l) => l.name === `${block}_shortcut_conv`);
}

function pruneTable(rows) {
  const lines = ['| run | blocks | removed | test acc | predict ms (test set) |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.label} | ${r.blocks} | ${r.fraction === 0 ? 'none' : `${r.removed.length} (${r.fraction * 100}%)`} | ` +
      `${(100 * r.testAccuracy).toFixed(2)}% | ${r.predictMs.toFixed(0)} |`);
  }
  return lines.join('\n');
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
    if (!opts.help) prepareOutDir(opts.out);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`demo: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const started = Date.now();
  require('tfjs-drop-path/node-compat');  // Node 22+: before tfjs-node (README: Node.js versions)
  const tf = require('@tensorflow/tfjs-node');
  const dp = require('tfjs-drop-path');

  const digits = loadDigits({samples: opts.samples, test: opts.test});
  const toX = (set) => tf.tensor4d(Float32Array.from(set.pixels.flatMap((p) => Array.from(p))),
    [set.labels.length, SIZE, SIZE, 1]);
  const toY = (set) => tf.oneHot(tf.tensor1d(set.labels, 'int32'), 10);
  const data = {train: digits.train, trainXs: toX(digits.train), trainYs: toY(digits.train),
    testXs: toX(digits.test), testYs: toY(digits.test)};
  console.log(`tfjs-drop-path ${dp.version} digits demo: backend ${tf.getBackend()}, ` +
    `${digits.train.labels.length} train / ${digits.test.labels.length} test digits (MNIST, from the mnist package), ` +
    `${opts.epochs} epochs, batch ${opts.batchSize}, seed ${opts.seed}`);

  // The baseline has the first form's layers at rate 0 (a DropPath at rate 0 is a copy), so that it can be pruned too.
  const runs = [
    {key: 'baseline', label: 'no drop path', rate: 0, block: opts.blocks[0]},
    ...opts.blocks.map((block) => ({key: block === 'dropPath' ? 'drop_path' : `drop_path_${block}`,
      label: `${BLOCKS[block].label} ${opts.schedule} p_L=${opts.rate}`, rate: opts.rate, block})),
  ];
  if (opts.timeSchedule) {
    const {name, epochs} = opts.timeSchedule;
    const make = {constant: () => dp.timeSchedules.constant(opts.rate), early: () => dp.timeSchedules.early(opts.rate, epochs),
      late: () => dp.timeSchedules.late(opts.rate, epochs), warmup: () => dp.timeSchedules.linearWarmup(opts.rate, epochs)}[name];
    const tag = epochs === null ? name : `${name}:${epochs}`;
    runs.push({key: `drop_path_${name}`, label: `${BLOCKS[opts.blocks[0]].label} ${tag} p_L=${opts.rate}`, rate: opts.rate,
      block: opts.blocks[0], timeSchedule: make(), timeScheduleName: tag});
  }
  const results = [];
  const models = [];
  for (let i = 0; i < runs.length; i++) {
    const later = runs.length - i - 1;
    const {model, result} = await train(tf, dp, runs[i], data, opts, (perEpoch) => later * perEpoch * opts.epochs,
      Math.max(...runs.map((r) => r.label.length)));
    results.push(result);
    models.push(model);
  }
  const trained = models[1];
  const pruning = opts.prune ? await pruneReport(tf, dp, models.slice(0, 1 + opts.blocks.length), runs, data) : null;

  fs.mkdirSync(opts.out, {recursive: true});
  const modelDir = path.resolve(opts.out, 'model');
  // Saved so that a failed save leaves the previous run's model whole (tfjs-drop-path/files).
  await require('tfjs-drop-path/files').saveModelFolder(trained, modelDir);
  const loaded = await tf.loadLayersModel(`file://${path.join(modelDir, 'model.json')}`);
  const a = trained.predict(data.testXs, {batchSize: 500});
  const b = loaded.predict(data.testXs, {batchSize: 500});
  const maxAbsDiff = (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  const reloadOk = maxAbsDiff === 0;

  const summary = {
    demo: 'digits', plugin: dp.version, backend: tf.getBackend(), tfjs: tf.version.tfjs, node: process.versions.node,
    settings: {...opts, out: undefined, trainSamples: digits.train.labels.length,
      testSamples: digits.test.labels.length, optimizer: 'adam(2e-3)', architecture: ARCHITECTURE},
    runs: results,
    savedModel: {path: path.relative(opts.out, modelDir) || '.', reloadedPredictionsMatch: reloadOk, maxAbsDiff},
    pruning,
    totalSeconds: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(path.join(opts.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const svg = renderSvg(results, {title: `MNIST digits (${digits.train.labels.length} train / ` +
    `${digits.test.labels.length} test), bottleneck ResNet, seed ${opts.seed}`});
  fs.writeFileSync(path.join(opts.out, 'chart.svg'), svg);
  fs.writeFileSync(path.join(opts.out, 'chart.png'), svgToPng(svg));

  console.log(`\n${table(results)}\n`);
  if (pruning) console.log(`${pruneTable(pruning)}\n`);
  console.log(`saved the drop-path model to ${modelDir}; reloaded with tf.loadLayersModel: ` +
    `predictions ${reloadOk ? 'identical' : `DIFFER (max |diff| ${maxAbsDiff})`}`);
  console.log(`wrote ${path.join(opts.out, 'summary.json')}, chart.svg, chart.png in ${fmtTime(summary.totalSeconds)}`);
  if (!reloadOk) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
