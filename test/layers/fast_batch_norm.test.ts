/**
 * The fast BatchNormalization path against stock tfjs-layers, for equal
 * weights: outputs, weight gradients (through an SGD step) and the moving
 * statistics; the layer stays a stock BatchNormalization on save.
 */
import '../../index';
import {setFastBatchNorm, usesFastBatchNorm} from '../../layers/fast_batch_norm';
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
  h = tf.layers.activation({activation: 'relu'}).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({units: 2, kernelInitializer: tf.initializers.glorotUniform({seed: seed + 2})}).apply(h) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: out});
  model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
  return {model, bn};
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
    setFastBatchNorm(fast.bn, true);
    expect(usesFastBatchNorm(fast.bn)).toBe(true);
    const x = tf.randomNormal([8, 6, 6, 3], 0, 1, 'float32', 1);
    const y = tf.randomNormal([8, 2], 0, 1, 'float32', 2);
    const spy = jest.spyOn(fused, 'batchNormTrain');
    for (let i = 0; i < 3; i++) {
      const a = await stock.model.trainOnBatch(x, y) as number;
      const b = await fast.model.trainOnBatch(x, y) as number;
      expect(Math.abs(a - b)).toBeLessThan(1e-5);
    }
    // The fast model's three training calls went through the fused op (the stock model's did not).
    expect(spy.mock.results.map((r) => (r.value as fused.BatchNormTrainResult).path))
      .toEqual(new Array(3).fill(backend === 'tensorflow' ? 'fused' : 'reference'));
    spy.mockRestore();
    expectClose(values(fast.model.getWeights()), values(stock.model.getWeights()), 1e-4); // incl. moving mean / variance
    expectClose(values([fast.model.predict(x) as tf.Tensor]), values([stock.model.predict(x) as tf.Tensor]), 1e-4);
  }));
});

test('saved, it is a stock BatchNormalization; switched off, the stock call again', async () => {
  const {model, bn} = net(3);
  setFastBatchNorm(bn, true);
  const artifacts = await saveToMemory(model);
  const classes = JSON.stringify(artifacts.modelTopology);
  expect(classes).toContain('"class_name":"BatchNormalization"');
  setFastBatchNorm(bn, false);
  expect(usesFastBatchNorm(bn)).toBe(false);
  expect(Object.prototype.hasOwnProperty.call(bn, 'call')).toBe(false);
  expect(() => setFastBatchNorm(tf.layers.dense({units: 2}), true)).toThrow(/cannot take the fast path: it is a Dense, not a BatchNormalization/);
});
