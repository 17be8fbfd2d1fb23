/**
 * The Keras world's StochasticDepth (both forms, told apart by config) and
 * FixedDropout: exact inference values, training draws within a binomial
 * bound, exact zeros at rate 1, config errors, and loading by class name.
 */
import {FixedDropout, StochasticDepth} from '../../index';
import {tf} from '../utils/tf';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

test('two-input form (keras-cv rate, Addons survival_probability): inference is shortcut + keep · residual', () => {
  const s = tf.tensor2d([[1, 2], [3, 4]]);
  const r = tf.tensor2d([[10, 20], [30, 40]]);
  const cv = new StochasticDepth({rate: 0.25});
  expect(cv.form).toBe('twoInput');
  expect(values(cv.apply([s, r]) as tf.Tensor)).toEqual([8.5, 17, 25.5, 34]);
  const addons = new StochasticDepth({survivalProbability: 0.8});
  expect(values(addons.apply([s, r]) as tf.Tensor).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([9, 18, 27, 36]);
});

test('two-input form in training: one draw per batch, shortcut + residual or shortcut, kept 70% within a binomial bound', () => {
  const s = tf.tensor2d([[1, 2], [3, 4]]);
  const r = tf.tensor2d([[10, 20], [30, 40]]);
  const layer = new StochasticDepth({rate: 0.3, seed: 7});
  let kept = 0;
  const n = 400;
  for (let i = 0; i < n; i++) {
    const out = values(layer.apply([s, r], {training: true}) as tf.Tensor);
    if (out.join() === '11,22,33,44') kept++;
    else expect(out).toEqual([1, 2, 3, 4]);
  }
  // Binomial(400, 0.7): mean 280, sd 9.2; 4 sd either side.
  expect(Math.abs(kept - 280)).toBeLessThan(4 * Math.sqrt(n * 0.7 * 0.3));
});

test('per-sample form (ConvNeXt drop_path_rate): rows zeroed or scaled; identity at inference; rate 1 gives zeros, not NaN', () => {
  const x = tf.ones([64, 3]);
  const layer = new StochasticDepth({dropPathRate: 0.5, seed: 3});
  expect(layer.form).toBe('perSample');
  const rows = values(layer.apply(x, {training: true}) as tf.Tensor);
  expect(new Set(rows)).toEqual(new Set([0, 2]));
  expect(values(layer.apply(x) as tf.Tensor).every((v) => v === 1)).toBe(true);
  const all = new StochasticDepth({dropPathRate: 1});
  expect(values(all.apply(tf.tensor2d([[NaN, Infinity]]), {training: true}) as tf.Tensor)).toEqual([0, 0]);
});

test('a config with none or several of the fields is refused, naming them', () => {
  expect(() => new StochasticDepth({} as never)).toThrow(/exactly one of drop_path_rate \(ConvNeXt\), rate \(keras-cv\) or survival_probability \(TensorFlow Addons\), but it holds none of them/);
  expect(() => new StochasticDepth({rate: 0.1, survivalProbability: 0.9})).toThrow(/but it holds rate, survivalProbability/);
  expect(() => new StochasticDepth({rate: 1.5})).toThrow(/rate/);
});

test('converter-style files load by class name: StochasticDepth and FixedDropout, and round-trip', async () => {
  const topology = {class_name: 'Model', config: {name: 'm', input_layers: [['x', 0, 0]], output_layers: [['sd', 0, 0]], layers: [
    {class_name: 'InputLayer', name: 'x', config: {batch_input_shape: [null, 4], dtype: 'float32', name: 'x'}, inbound_nodes: []},
    {class_name: 'Dense', name: 'branch', config: {units: 4, name: 'branch', use_bias: false}, inbound_nodes: [[['x', 0, 0, {}]]]},
    {class_name: 'FixedDropout', name: 'fd', config: {rate: 0.2, noise_shape: [null, 1], name: 'fd'}, inbound_nodes: [[['branch', 0, 0, {}]]]},
    {class_name: 'StochasticDepth', name: 'sd', config: {survival_probability: 0.5, name: 'sd'}, inbound_nodes: [[['x', 0, 0, {}], ['fd', 0, 0, {}]]]},
  ]}};
  const model = await tf.models.modelFromJSON({modelTopology: topology} as never);
  expect(model.getLayer('fd')).toBeInstanceOf(FixedDropout);
  expect(model.getLayer('sd')).toBeInstanceOf(StochasticDepth);
  const x = tf.ones([2, 4]);
  const branch = model.getLayer('branch').apply(x) as tf.Tensor;
  const want = tf.add(x, tf.mul(branch, 0.5));
  expect(tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, want))).dataSync()[0]).toBeLessThan(1e-6);
  // The topology round trip (saving weights from Jest's realm trips tfjs' TypedArray check; weights copied).
  const back = await tf.models.modelFromJSON({modelTopology: model.toJSON(null, false)} as never);
  back.setWeights(model.getWeights());
  expect((back.getLayer('sd') as StochasticDepth).getConfig().survivalProbability).toBe(0.5);
  expect(values(back.predict(x) as tf.Tensor)).toEqual(values(model.predict(x) as tf.Tensor));
});
