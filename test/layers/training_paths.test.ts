/**
 * The fast BatchNormalization and ReLU training calls against stock
 * tfjs-layers, for equal weights: outputs, weight gradients (through SGD
 * steps) and the moving statistics; the layers stay stock classes on save.
 */
import '../../index';
import {scaledOutputLayer, setFastTraining, trainingPath, usesFastTraining, withOutputScale} from '../../layers/training_paths';
import * as fusedAct from '../../src/ops/fused_activation';
import * as fused from '../../src/ops/fused_batch_norm';
import {saveToMemory} from '../utils/io';
import {BACKENDS, onBackend, tf} from '../utils/tf';

/** conv → BN → relu → pool → dense, seeded. */
function net(seed: number) {
  const input = tf.input({shape: [6, 6, 3]});
  let h = tf.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', useBias: false,
    kernelInitializer: tf.initializers.glorotUniform({seed})}).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({momentum: 0.9, gammaInitializer: tf.initializers.randomUniform({minval: 0.5, maxval: 1.5, seed}),
    betaInitializer: tf.initializers.randomUniform({minval: -0.2, maxval: 0.2, seed: seed + 1})});
  h = bn.apply(h) as tf.SymbolicTensor;
  const act = tf.layers.activation({activation: 'relu'});
  h = act.apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({units: 2, kernelInitializer: tf.initializers.glorotUniform({seed: seed + 2})}).apply(h) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: out});
  model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
  return {model, bn, act};
}

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
function expectClose(a: number[][], b: number[][], tol: number) {
  a.forEach((row, i) => row.forEach((v, j) => {
    const w = (b[i] as number[])[j] as number;
    expect(Math.abs(v - w) / (1 + Math.abs(w))).toBeLessThan(tol);
  }));
}

describe.each(BACKENDS)('fast BatchNormalization on backend %s', (backend) => {
  test('three trainOnBatch steps: weights, moving statistics and outputs equal stock tfjs-layers', () => onBackend(backend, async () => {
    const stock = net(7);
    const fast = net(7);
    setFastTraining(fast.bn, true);
    setFastTraining(fast.act, true);
    expect(usesFastTraining(fast.bn) && usesFastTraining(fast.act)).toBe(true);
    const path = backend === 'tensorflow' ? 'fused' : 'portable';
    expect([trainingPath(fast.bn), trainingPath(fast.act), trainingPath(stock.bn)]).toEqual([path, path, 'stock']);
    const x = tf.randomNormal([8, 6, 6, 3], 0, 1, 'float32', 1);
    const y = tf.randomNormal([8, 2], 0, 1, 'float32', 2);
    const spy = jest.spyOn(fused, 'batchNormTrain');
    const actSpy = jest.spyOn(fusedAct, 'activationTrain');
    for (let i = 0; i < 3; i++) {
      const a = await stock.model.trainOnBatch(x, y) as number;
      const b = await fast.model.trainOnBatch(x, y) as number;
      expect(Math.abs(a - b)).toBeLessThan(1e-5);
    }
    // The fast model's three training calls went through the fused op (the stock model's did not).
    expect(spy.mock.results.map((r) => (r.value as fused.BatchNormTrainResult).path))
      .toEqual(new Array(3).fill(backend === 'tensorflow' ? 'fused' : 'reference'));
    expect(actSpy.mock.results.map((r) => (r.value as {path: string}).path))
      .toEqual(new Array(3).fill(backend === 'tensorflow' ? 'fused' : 'reference'));
    spy.mockRestore();
    actSpy.mockRestore();
    expectClose(values(fast.model.getWeights()), values(stock.model.getWeights()), 1e-4); // incl. moving mean / variance
    expectClose(values([fast.model.predict(x) as tf.Tensor]), values([stock.model.predict(x) as tf.Tensor]), 1e-4);
  }));
});

test('saved, they are a stock BatchNormalization and Activation; switched off, the stock calls again', async () => {
  const {model, bn, act} = net(3);
  const stockTopology = JSON.stringify((await saveToMemory(model)).modelTopology);
  setFastTraining(bn, true);
  setFastTraining(act, true);
  expect(JSON.stringify((await saveToMemory(model)).modelTopology)).toBe(stockTopology);
  for (const layer of [bn, act]) {
    setFastTraining(layer, false);
    expect(usesFastTraining(layer)).toBe(false);
    expect(trainingPath(layer)).toBe('stock');
    expect(Object.prototype.hasOwnProperty.call(layer, 'call')).toBe(false);
  }
});

test('a layer without a fast path is refused, saying why', () => {
  expect(() => setFastTraining(tf.layers.dense({units: 2, name: 'd'}), true))
    .toThrow("setFastTraining: layer 'd' cannot take the fast path: it is a Dense, not a BatchNormalization, a LayerNormalization or an Activation.");
  expect(() => setFastTraining(tf.layers.activation({activation: 'relu6', name: 'a'}), true))
    .toThrow("layer 'a' cannot take the fast path: it is an Activation 'relu6'; the fast path covers 'relu' only.");
  expect(() => setFastTraining(tf.layers.batchNormalization({center: false, name: 'b'}), true))
    .toThrow(/'b' cannot take the fast path: it is a BatchNormalization without center or scale/);
  expect(() => setFastTraining(tf.layers.batchNormalization({axis: 1, name: 'c'}), true))
    .toThrow(/over axis 1, not the channels-last axis/);
});

describe.each(BACKENDS)('output scale folded into a final fast BatchNormalization on backend %s', (backend) => {
  /** conv → BN, the BN last: what a residual branch of the builders ends with. */
  function branch(fast: boolean) {
    const input = tf.input({shape: [4, 4, 2]});
    const conv = tf.layers.conv2d({filters: 3, kernelSize: 1, useBias: false, kernelInitializer: tf.initializers.glorotUniform({seed: 1})});
    const bn = tf.layers.batchNormalization({gammaInitializer: tf.initializers.randomUniform({minval: 0.5, maxval: 1.5, seed: 2}),
      betaInitializer: tf.initializers.randomUniform({minval: -0.5, maxval: 0.5, seed: 3})});
    if (fast) setFastTraining(bn, true);
    return {model: tf.model({inputs: input, outputs: bn.apply(conv.apply(input)) as tf.SymbolicTensor}), bn};
  }

  test('branch(x) · s with the scale in gamma and beta equals the product; gradients too; moving statistics unscaled', () =>
    onBackend(backend, () => {
      const fast = branch(true);
      const stock = branch(false);
      expect(scaledOutputLayer(fast.model)).toBe(fast.bn);
      expect(scaledOutputLayer(stock.model)).toBeNull(); // not on the fast path: no free scale
      const x = tf.randomNormal([5, 4, 4, 2], 0, 1, 'float32', 4);
      const dy = tf.randomNormal([5, 4, 4, 3], 0, 1, 'float32', 5);
      const s = 1 / 0.7;
      const lossFast = () => tf.sum(tf.mul(withOutputScale(fast.bn, s, () => fast.model.apply(x, {training: true}) as tf.Tensor), dy)) as tf.Scalar;
      const lossStock = () => tf.sum(tf.mul(tf.mul(stock.model.apply(x, {training: true}) as tf.Tensor, s), dy)) as tf.Scalar;
      const a = tf.variableGrads(lossFast, fast.model.trainableWeights.map((w) => w.read() as tf.Variable));
      const b = tf.variableGrads(lossStock, stock.model.trainableWeights.map((w) => w.read() as tf.Variable));
      expect(Math.abs((a.value.dataSync()[0] as number) - (b.value.dataSync()[0] as number))).toBeLessThan(1e-3);
      const ga = fast.model.trainableWeights.map((w) => a.grads[(w.read() as tf.Variable).name] as tf.Tensor);
      const gb = stock.model.trainableWeights.map((w) => b.grads[(w.read() as tf.Variable).name] as tf.Tensor);
      expectClose(values(ga), values(gb), 1e-4);
      expectClose(values(fast.model.getWeights()), values(stock.model.getWeights()), 1e-5); // moving mean / variance as unscaled
      // After the call the layer is unscaled again.
      const plain = tf.sub(fast.model.apply(x, {training: true}) as tf.Tensor, stock.model.apply(x, {training: true}) as tf.Tensor);
      expect(tf.max(tf.abs(plain)).dataSync()[0]).toBeLessThan(1e-4);
    }));
});

test('withOutputScale refuses a re-entrant call and always unsets the scale', () => {
  const bn = tf.layers.batchNormalization({name: 'bnx'});
  expect(() => withOutputScale(bn, 2, () => withOutputScale(bn, 3, () => 0))).toThrow("withOutputScale: layer 'bnx' is already scaled (a re-entrant call).");
  expect(withOutputScale(bn, 2, () => 7)).toBe(7);
});

describe.each(BACKENDS)('fast LayerNormalization (tokens [batch, tokens, dim]) on backend %s', (backend) => {
  test('training outputs and every gradient equal stock tfjs-layers; inference is the stock call; a fraction of the kernels', () =>
    onBackend(backend, () => {
      const make = () => {
        const ln = tf.layers.layerNormalization({epsilon: 1e-6, gammaInitializer: tf.initializers.randomUniform({minval: 0.5, maxval: 1.5, seed: 3}),
          betaInitializer: tf.initializers.randomUniform({minval: -0.3, maxval: 0.3, seed: 4})});
        ln.apply(tf.input({shape: [9, 8]}));
        return ln;
      };
      const stock = make();
      const fast = make();
      setFastTraining(fast, true);
      // tfjs-node: one FusedBatchNormV3 (NCHW) each way; elsewhere tfjs ops (the same numbers, checked below).
      expect(trainingPath(fast)).toBe(backend === 'tensorflow' ? 'fused' : 'portable');
      const x = tf.randomNormal([4, 9, 8], 0.5, 2, 'float32', 5);
      const dy = tf.randomNormal([4, 9, 8], 0, 1, 'float32', 6);
      const run = (ln: typeof stock) => {
        const f = () => tf.sum(tf.mul(ln.apply(x, {training: true}) as tf.Tensor, dy)) as tf.Scalar;
        const {grads} = tf.variableGrads(f, ln.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val));
        const dx = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(ln.apply(z, {training: true}) as tf.Tensor, dy)))(x);
        return [ln.apply(x, {training: true}) as tf.Tensor, dx, ...Object.values(grads)];
      };
      /** The kernels one training gradient (input and weights) runs, by name. */
      const kernels = (ln: typeof stock) => {
        const before = tf.engine().state.numTensors;
        const seen: Record<string, number> = {};
        const eng = tf.engine() as unknown as {runKernel: (name: string, ...a: unknown[]) => unknown};
        const orig = eng.runKernel;
        eng.runKernel = function (name: string, ...a: unknown[]) {
          seen[name] = (seen[name] ?? 0) + 1;
          return orig.call(this, name, ...a);
        };
        try {
          tf.tidy(() => {
            tf.variableGrads(() => tf.sum(ln.apply(x, {training: true}) as tf.Tensor) as tf.Scalar,
              ln.trainableWeights.map((w) => (w as unknown as {val: tf.Variable}).val));
          });
        } finally {
          eng.runKernel = orig;
        }
        expect(tf.engine().state.numTensors).toBe(before);
        return seen;
      };
      expectClose(values(run(fast)), values(run(stock)), 2e-5);
      expect(Array.from((fast.apply(x) as tf.Tensor).dataSync())).toEqual(Array.from((stock.apply(x) as tf.Tensor).dataSync()));
      // Stock: tfjs' Tile gradient, a slice and an add per repetition (4 × 9 = 36 for each of γ and β); fast: none.
      expect(kernels(stock).Slice).toBeGreaterThanOrEqual(72);
      expect([kernels(fast).Slice, kernels(fast).Tile]).toEqual([undefined, undefined]);
    }));
});
