/**
 * optimizers.adam and optimizers.sgd (grouped: every variable of a step
 * updated as one flat vector) against tf.train.adam / sgd / momentum: 100
 * steps on the same problem from the same start, every weight within 1e-5 —
 * on tfjs-node and on the cpu backend — and drop-in use: positional
 * arguments, fit, includeOptimizer, one set of variables per optimizer.
 */

import * as dp from '../../index';
import {saveToMemory} from '../utils/io';
import {BACKENDS, onBackend, tf} from '../utils/tf';

let run = 0;
/** 100 steps of `opt` on a small regression with a rank-3 and a rank-1 variable; returns their values. */
function trajectory(make: () => tf.Optimizer): number[][] {
  const prefix = `grouped_${run++}`;
  const W = tf.variable(tf.randomNormal([6, 4], 0, 0.5, 'float32', 1), true, `${prefix}/W`);
  const b = tf.variable(tf.randomNormal([4], 0, 0.1, 'float32', 2), true, `${prefix}/b`);
  const P = tf.variable(tf.randomNormal([1, 1, 4], 0, 0.1, 'float32', 3), true, `${prefix}/P`);
  const x = tf.randomNormal([32, 6], 0, 1, 'float32', 4);
  const y = tf.randomNormal([32, 4], 0, 1, 'float32', 5);
  const opt = make();
  for (let i = 0; i < 100; i++) {
    opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.add(tf.matMul(x, W), b), tf.reshape(P, [4])), y))) as tf.Scalar, false, [W, b, P]);
  }
  const out = [W, b, P].map((v) => Array.from(v.dataSync()));
  opt.dispose();
  tf.dispose([W, b, P, x, y]);
  return out;
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - (b[i] as number[])[j]!))));

describe.each(BACKENDS)('on backend %s: 100 steps equal tf.train\'s within 1e-5', (backend) => {
  test.each([
    ['adam', () => tf.train.adam(0.01), () => dp.optimizers.adam(0.01)],
    ['adam with its arguments', () => tf.train.adam(0.003, 0.8, 0.95, 1e-5), () => dp.optimizers.adam({learningRate: 0.003, beta1: 0.8, beta2: 0.95, epsilon: 1e-5})],
    ['sgd', () => tf.train.sgd(0.05), () => dp.optimizers.sgd(0.05)],
    ['momentum', () => tf.train.momentum(0.02, 0.9), () => dp.optimizers.sgd(0.02, 0.9)],
    ['nesterov', () => tf.train.momentum(0.02, 0.9, true), () => dp.optimizers.sgd({learningRate: 0.02, momentum: 0.9, useNesterov: true})],
  ] as const)('%s', (_name, stock, grouped) => onBackend(backend, () => {
    const want = trajectory(stock);
    const got = trajectory(grouped);
    const diff = maxDiff(got, want);
    expect(diff).toBeLessThan(1e-5);
    // They moved: a test that cannot fail would pass with no update at all.
    const start = trajectory(() => dp.optimizers.sgd(0));
    expect(maxDiff(want, start)).toBeGreaterThan(0.05);
  }));
});

test('drop-in in compile and fit; saved with includeOptimizer and continued identically after loading', () => onBackend('cpu', async () => {
  for (const make of [() => dp.optimizers.adam(0.01), () => dp.optimizers.sgd(0.05, 0.9)]) {
    const m = tf.sequential({layers: [tf.layers.dense({units: 3, inputShape: [4]}), tf.layers.dense({units: 2})]});
    m.compile({optimizer: make(), loss: 'meanSquaredError'});
    const xs = tf.randomNormal([8, 4], 0, 1, 'float32', 7);
    const ys = tf.randomNormal([8, 2], 0, 1, 'float32', 8);
    const h = await m.fit(xs, ys, {epochs: 3, verbose: 0});
    expect((h.history.loss as number[])[2]).toBeLessThan((h.history.loss as number[])[0] as number);
    const artifacts = await saveToMemory(m, {includeOptimizer: true});
    const back = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(back.optimizer.getClassName()).toBe(m.optimizer.getClassName());
    for (const model of [m, back]) await model.trainOnBatch(xs, ys);
    // Within float32 rounding: restored, β^t is recomputed as tf.train.adam recomputes it (pow), not the running product.
    const values = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(maxDiff(values(back), values(m))).toBeLessThan(1e-6);
    const before = tf.memory().numTensors;
    await m.trainOnBatch(xs, ys);
    expect(tf.memory().numTensors).toBe(before);
  }
}));

test('one optimizer, one set of variables: another set is refused, saying so; bad arguments are named', () => {
  const a = tf.variable(tf.ones([2]), true, 'grouped_set_a');
  const b = tf.variable(tf.ones([3]), true, 'grouped_set_b');
  const opt = dp.optimizers.adam(0.1);
  opt.minimize(() => tf.sum(a) as tf.Scalar, false, [a]);
  expect(() => opt.minimize(() => tf.sum(b) as tf.Scalar, false, [b]))
    .toThrow(/optimizers\.adam: this step updates other variables than the first .* give each model its own optimizer/);
  expect(() => dp.optimizers.sgd({learningRate: 0.1, momentun: 0.9} as never)).toThrow(/unknown key 'momentun'.*did you mean 'momentum'/);
  expect(() => dp.optimizers.adam(-1)).toThrow(/optimizers\.adam: learningRate must be a number in \[0, Infinity\), but received -1/);
  expect(() => dp.optimizers.sgd(0.1, 1.5)).toThrow(/momentum must be a number in \[0, 1\), but received 1\.5/);
  opt.dispose();
  tf.dispose([a, b]);
});
