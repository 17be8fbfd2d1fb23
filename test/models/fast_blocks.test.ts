/**
 * The builders' fast blocks against the same network written with stock
 * tf.layers (conv2d + batchNormalization + activation, weights copied by
 * layer name): outputs within 1e-4, every weight gradient within 1e-3
 * relative, and weights plus moving statistics after `fit` and after
 * `trainOnBatch`; on tfjs-node (fused kernels) and on the pure-JS backend
 * (portable path). Also: files stay stock, a loaded model is switched back by
 * one call, pruning keeps the path, a forced fallback keeps the numbers, and
 * the summary says which path each block takes.
 */
import {disableFusedKernels} from '../../src/internal/tf_kernels';
import {dropPathSummary, pruneBlocks, resnet, trainingPaths, useFastBlocks} from '../../index';
import type {ResNetArgs} from '../../index';
import {roundTrip, saveToMemory} from '../utils/io';
import {BACKENDS, onBackend, tf, trainingTensorCounts} from '../utils/tf';

type Sym = tf.SymbolicTensor;

const ARGS: ResNetArgs = {inputShape: [6, 6, 3], numClasses: 3, seed: 5,
  // Two identity blocks, then a projection block with stride 2.
  stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 1, strides: 2}]};

/** The same network from stock tf.layers, as a user writes it, with the builders' layer names. */
function stockTwin(args: ResNetArgs): tf.LayersModel {
  const convBnAct = (x: Sym, filters: number, kernelSize: number, strides: number, relu: boolean, name: string) => {
    let y = tf.layers.conv2d({filters, kernelSize, strides, padding: 'same', useBias: false, name: `${name}_conv`}).apply(x) as Sym;
    y = tf.layers.batchNormalization({momentum: 0.9, name: `${name}_bn`}).apply(y) as Sym;
    return relu ? tf.layers.activation({activation: 'relu', name: `${name}_act`}).apply(y) as Sym : y;
  };
  const inp = tf.input({shape: args.inputShape, name: 'input'});
  let x = convBnAct(inp, 8, 3, 1, true, 'stem');
  let channels = 8;
  args.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) {
      const name = `stage${s + 1}_block${b + 1}`;
      const strides = b === 0 ? stage.strides ?? 1 : 1;
      const mid = stage.filters / 4;
      let branch = convBnAct(x, mid, 1, 1, true, `${name}_reduce`);
      branch = convBnAct(branch, mid, 3, strides, true, `${name}_conv`);
      branch = convBnAct(branch, stage.filters, 1, 1, false, `${name}_expand`);
      const shortcut = channels !== stage.filters || strides !== 1 ? convBnAct(x, stage.filters, 1, strides, false, `${name}_shortcut`) : x;
      const sum = tf.layers.add({name: `${name}_add`}).apply([shortcut, branch]) as Sym;
      x = tf.layers.activation({activation: 'relu', name: `${name}_out`}).apply(sum) as Sym;
      channels = stage.filters;
    }
  });
  x = tf.layers.globalAveragePooling2d({name: 'pool'}).apply(x) as Sym;
  const out = tf.layers.dense({units: args.numClasses, activation: 'softmax', name: 'head'}).apply(x) as Sym;
  return tf.model({inputs: inp, outputs: out});
}

/** A fast builders' model and its stock twin holding the same weights, both compiled with SGD. */
function pair(args: ResNetArgs = ARGS) {
  const fast = resnet(args);
  const stock = stockTwin(args);
  for (const layer of stock.layers) layer.setWeights(fast.getLayer(layer.name).getWeights());
  for (const m of [fast, stock]) m.compile({optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy'});
  return {fast, stock};
}

const data = (n: number) => ({
  x: tf.randomNormal([n, 6, 6, 3], 0, 1, 'float32', 11),
  y: tf.oneHot(tf.tensor1d(Array.from({length: n}, (_, i) => i % 3), 'int32'), 3),
});

/** max |a − b| / max |b| over one tensor: the relative error of a whole gradient. */
const relError = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() =>
  (tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number) / Math.max(tf.max(tf.abs(b)).dataSync()[0] as number, 1e-12));

/** Every weight of both models (moving statistics included) by name, |a − b| / (1 + |b|) at most `tol`. */
function expectSameWeights(fast: tf.LayersModel, stock: tf.LayersModel, tol: number) {
  const want = new Map(stock.weights.map((w) => [w.originalName, w.read()]));
  expect(fast.weights.length).toBe(want.size);
  for (const w of fast.weights) {
    const b = want.get(w.originalName) as tf.Tensor;
    const err = tf.tidy(() => tf.max(tf.div(tf.abs(tf.sub(w.read(), b)), tf.add(tf.abs(b), 1))).dataSync()[0] as number);
    if (!(err <= tol)) throw new Error(`${w.originalName}: differs by ${err} (tolerance ${tol})`);
  }
}

afterEach(() => disableFusedKernels(null));

describe.each(BACKENDS)('fast blocks against stock tf.layers on backend %s', (backend) => {
  const path = backend === 'tensorflow' ? 'fused' : 'portable';

  test(`every BatchNorm and ReLU takes the ${path} path; the twin is all stock`, () => onBackend(backend, () => {
    const {fast, stock} = pair();
    // stem: bn + act; per block: 3 bn + 2 act + out act; the projection block: + 1 bn.
    expect(trainingPaths(fast).counts).toEqual({fused: 0, portable: 0, stock: 0, [path]: 2 + 3 * 6 + 1});
    expect(trainingPaths(stock).counts).toEqual({fused: 0, portable: 0, stock: 21});
  }));

  test('training-mode outputs within 1e-4 and every weight gradient within 1e-3 relative', () => onBackend(backend, () => {
    const {fast, stock} = pair();
    const {x, y} = data(8);
    const lossOf = (m: tf.LayersModel) => () => tf.losses.meanSquaredError(y, m.apply(x, {training: true}) as tf.Tensor) as tf.Scalar;
    const outFast = fast.apply(x, {training: true}) as tf.Tensor;
    const outStock = stock.apply(x, {training: true}) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(outFast, outStock))).dataSync()[0]).toBeLessThan(1e-4);
    const gradsOf = (m: tf.LayersModel) => {
      const {grads} = tf.variableGrads(lossOf(m), m.trainableWeights.map((w) => w.read() as tf.Variable));
      return new Map(m.trainableWeights.map((w) => [w.originalName, grads[(w.read() as tf.Variable).name] as tf.Tensor]));
    };
    const gFast = gradsOf(fast);
    const gStock = gradsOf(stock);
    expect([...gFast.values()].every((g) => g instanceof tf.Tensor)).toBe(true); // every trainable weight has a gradient
    expect(gFast.size).toBe(fast.trainableWeights.length);
    for (const [name, g] of gFast) {
      const err = relError(g, gStock.get(name) as tf.Tensor);
      if (!(err < 1e-3)) throw new Error(`gradient of ${name}: relative error ${err}`);
    }
  }));

  test('after trainOnBatch steps and after fit: weights and moving statistics equal stock (tfjs-layers\' momentum rule)', () =>
    onBackend(backend, async () => {
      const {x, y} = data(8);
      const a = pair();
      for (let i = 0; i < 3; i++) {
        const lf = await a.fast.trainOnBatch(x, y) as number;
        const ls = await a.stock.trainOnBatch(x, y) as number;
        expect(Math.abs(lf - ls)).toBeLessThan(1e-4 * (1 + Math.abs(ls)));
      }
      expectSameWeights(a.fast, a.stock, 1e-4);
      // The moving statistics did move (a comparison of two untouched zeros would prove nothing).
      const mean = a.fast.getLayer('stem_bn').getWeights()[2] as tf.Tensor;
      expect(tf.max(tf.abs(mean)).dataSync()[0]).toBeGreaterThan(1e-3);
      const b = pair();
      await b.fast.fit(x, y, {epochs: 2, batchSize: 4, shuffle: false, verbose: 0});
      await b.stock.fit(x, y, {epochs: 2, batchSize: 4, shuffle: false, verbose: 0});
      expectSameWeights(b.fast, b.stock, 1e-4);
      const xi = tf.randomNormal([4, 6, 6, 3], 0, 1, 'float32', 12);
      expect(tf.max(tf.abs(tf.sub(b.fast.predict(xi) as tf.Tensor, b.stock.predict(xi) as tf.Tensor))).dataSync()[0]).toBeLessThan(1e-4);
    }));

  test('no tensor leaks across repeated fit, predict and evaluate', () => onBackend(backend, async () => {
    const {fast} = pair();
    const {x, y} = data(8);
    const counts = await trainingTensorCounts(fast, x, y, 4, 3);
    expect(new Set(counts).size).toBe(1);
  }));
});

test.each([
  ['dropPath', {blockType: 'dropPath'}],
  ['stochasticResidual skip row', {blockType: 'stochasticResidual', strategy: 'skip'}],
  ['stochasticResidual skip batch', {blockType: 'stochasticResidual', strategy: 'skip', dropPathMode: 'batch'}],
  ['stochasticResidual mask', {blockType: 'stochasticResidual', strategy: 'mask'}],
] as const)('with drop path (%s, p_L 0.6): fast and fastPath: false train alike, drop for drop', async (_, block) => {
  const args = {...ARGS, dropPathRate: 0.6, ...block};
  const fast = resnet(args);
  const stock = resnet({...args, fastPath: false});
  expect(dropPathSummary(fast).rows.map((r) => r.trainingPath)).toEqual(['fused', 'fused', 'fused']);
  expect(dropPathSummary(stock).rows.map((r) => r.trainingPath)).toEqual(['stock', 'stock', 'stock']);
  for (const m of [fast, stock]) m.compile({optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy'});
  const {x, y} = data(8);
  for (let i = 0; i < 4; i++) {
    const lf = await fast.trainOnBatch(x, y) as number;
    const ls = await stock.trainOnBatch(x, y) as number;
    expect(Math.abs(lf - ls)).toBeLessThan(1e-4 * (1 + Math.abs(ls)));
  }
  expectSameWeights(fast, stock, 1e-4);
});

test('a saved model is a stock model; loaded back it is stock until useFastBlocks, then trains as the original', async () => {
  const {fast} = pair();
  const twin = resnet({...ARGS, fastPath: false});
  expect(JSON.stringify((await saveToMemory(fast)).modelTopology)).toBe(JSON.stringify((await saveToMemory(twin)).modelTopology));
  const loaded = await roundTrip(fast);
  expect(trainingPaths(loaded).counts).toEqual({fused: 0, portable: 0, stock: 21});
  expect(useFastBlocks(loaded).counts).toEqual({fused: 21, portable: 0, stock: 0});
  const {x, y} = data(8);
  for (const m of [fast, loaded]) m.compile({optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy'});
  for (let i = 0; i < 2; i++) {
    await fast.trainOnBatch(x, y);
    await loaded.trainOnBatch(x, y);
  }
  expectSameWeights(loaded, fast, 1e-6);
  // Off again: every layer back on its stock call.
  expect(useFastBlocks(loaded, false).counts).toEqual({fused: 0, portable: 0, stock: 21});
});

test('the switch: fastPath: false builds stock blocks; useFastBlocks leaves layers without a fast path alone, saying why', () => {
  expect(trainingPaths(resnet({...ARGS, fastPath: false})).counts).toEqual({fused: 0, portable: 0, stock: 21});
  const inp = tf.input({shape: [4, 4, 2]});
  const h = tf.layers.batchNormalization({name: 'bn'}).apply(inp) as Sym;
  const a = tf.layers.activation({activation: 'tanh', name: 'tanh'}).apply(h) as Sym;
  const m = tf.model({inputs: inp, outputs: a});
  const report = useFastBlocks(m);
  expect(report.rows).toEqual([
    {name: 'bn', className: 'BatchNormalization', path: 'fused', note: 'probed: equal to the reference'},
    {name: 'tanh', className: 'Activation', path: 'stock', note: "it is an Activation 'tanh'; the fast path covers 'relu' only"},
  ]);
  expect(report.text).toMatch(/^training paths on backend 'tensorflow': 1 fused, 0 portable, 1 stock/);
  expect(() => useFastBlocks({} as never)).toThrow(/^useFastBlocks: model must be a tf.LayersModel or a tf.layers Layer, but received a Object object/);
  expect(() => useFastBlocks(m, 'yes' as never)).toThrow('useFastBlocks: enabled must be a boolean, but received "yes".');
  expect(() => resnet({...ARGS, fastPath: 1 as never})).toThrow(/fastPath must be a boolean, but received 1\./);
});

test('forced fallback (kernels unavailable): every layer reports portable with the reason, numbers equal stock', async () => {
  disableFusedKernels('forced by a test');
  const {fast, stock} = pair();
  const report = trainingPaths(fast);
  expect(report.counts).toEqual({fused: 0, portable: 21, stock: 0});
  expect(report.text).toContain('portable: forced by a test');
  expect(dropPathSummary(resnet({...ARGS, blockType: 'stochasticResidual'})).rows.map((r) => r.trainingPath))
    .toEqual(['portable', 'portable', 'portable']);
  const {x, y} = data(8);
  for (let i = 0; i < 2; i++) {
    await fast.trainOnBatch(x, y);
    await stock.trainOnBatch(x, y);
  }
  expectSameWeights(fast, stock, 1e-4);
});

test('pruneBlocks keeps each layer\'s training path', () => {
  for (const fastPath of [true, false]) {
    const model = resnet({...ARGS, dropPathRate: 0.2, fastPath});
    const pruned = pruneBlocks(model, {keep: [0, 2]});
    const counts = trainingPaths(pruned).counts;
    expect(counts.portable).toBe(0);
    expect(fastPath ? counts.stock : counts.fused).toBe(0);
    expect(counts.fused + counts.stock).toBe(21 - 5); // one identity block's branch gone (its BN/ReLU: 3 + 2); its out ReLU stays
    expect(dropPathSummary(pruned).rows.map((r) => r.trainingPath)).toEqual(fastPath ? ['fused', 'fused'] : ['stock', 'stock']);
  }
});
