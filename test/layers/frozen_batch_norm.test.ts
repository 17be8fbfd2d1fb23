/**
 * Keras' rule for a frozen BatchNormalization (trainable: false → inference
 * mode in training too: the moving statistics normalize and stay unchanged),
 * against tfjs-layers' behaviour (batch statistics, moving ones updated); on
 * the stock and the fast path in either order; applied by loadKerasModel
 * (with a note) and kept by addDropPath and pruneBlocks.
 */
import * as dp from '../../index';
import {loadKerasModel, saveKerasModel} from '../../keras';
import {tf} from '../utils/tf';

const values = (t: unknown) => Array.from((t as tf.Tensor).dataSync());
const maxDiff = (a: unknown, b: unknown) => Math.max(...values(a).map((v, i) => Math.abs(v - (values(b)[i] as number))));

/** A conv → BN → ReLU model on [4, 4, 2] inputs; the BN's moving statistics set away from the batch's. */
function model(): tf.LayersModel {
  const input = tf.input({shape: [4, 4, 2]});
  const conv = tf.layers.conv2d({filters: 3, kernelSize: 1, kernelInitializer: 'ones', name: 'conv'}).apply(input);
  const bn = tf.layers.batchNormalization({name: 'bn'});
  const y = tf.layers.activation({activation: 'relu', name: 'relu'}).apply(bn.apply(conv));
  const m = tf.model({inputs: input, outputs: y as tf.SymbolicTensor});
  bn.setWeights([tf.ones([3]), tf.zeros([3]), tf.fill([3], 2), tf.fill([3], 3)]);
  return m;
}
const x = tf.randomUniform([8, 4, 4, 2], 0, 4, 'float32', 1);
const moving = (m: tf.LayersModel) => values(m.getLayer('bn').getWeights()[2]);

test('tfjs-layers: a frozen BatchNormalization still uses the batch\'s statistics in training and updates the moving ones', async () => {
  const m = model();
  m.getLayer('bn').trainable = false;
  expect(maxDiff(m.apply(x, {training: true}), m.apply(x))).toBeGreaterThan(0.5);
  m.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
  await m.fit(x, tf.zeros([8, 4, 4, 3]), {epochs: 1, batchSize: 8, verbose: 0});
  expect(moving(m)).not.toEqual([2, 2, 2]);
});

describe.each([['stock', false], ['fast', true]])('Keras\' rule on the %s path', (_path, fast) => {
  test('frozen: training calls equal inference, fit leaves the moving statistics; trainable again: batch statistics', async () => {
    const m = model();
    if (fast) dp.useFastBlocks(m);
    expect(dp.useKerasFrozenBatchNorm(m)).toBe(1);
    const bn = m.getLayer('bn');
    bn.trainable = false;
    expect(maxDiff(m.apply(x, {training: true}), m.apply(x))).toBe(0);
    m.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    await m.fit(x, tf.zeros([8, 4, 4, 3]), {epochs: 2, batchSize: 4, verbose: 0});
    expect(moving(m)).toEqual([2, 2, 2]);
    bn.trainable = true;
    expect(maxDiff(m.apply(x, {training: true}), m.apply(x))).toBeGreaterThan(0.5);
    m.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    await m.fit(x, tf.zeros([8, 4, 4, 3]), {epochs: 1, batchSize: 8, verbose: 0});
    expect(moving(m)).not.toEqual([2, 2, 2]);
  });

  test('the rule and the fast path switch in either order; the rule off restores tfjs\' behaviour', () => {
    const m = model();
    const bn = m.getLayer('bn');
    bn.trainable = false;
    dp.useKerasFrozenBatchNorm(m);
    dp.useFastBlocks(m, fast);
    dp.useFastBlocks(m, !fast);
    dp.useFastBlocks(m, fast);
    // On the fast path: 'fused', or 'portable' where this machine's kernel probe refused the fused kernel.
    expect(dp.trainingPaths(m).rows.find((r) => r.name === 'bn')?.path).toEqual(fast ? expect.stringMatching(/^(fused|portable)$/) : 'stock');
    expect(maxDiff(m.apply(x, {training: true}), m.apply(x))).toBe(0);
    dp.useKerasFrozenBatchNorm(m, false);
    expect(maxDiff(m.apply(x, {training: true}), m.apply(x))).toBeGreaterThan(0.5);
  });
});

test('loadKerasModel applies it to a file\'s frozen BatchNormalization, with a note; addDropPath and pruneBlocks keep it', async () => {
  const input = tf.input({shape: [4, 4, 3]});
  const stem = tf.layers.conv2d({filters: 3, kernelSize: 1, name: 'stem'}).apply(input) as tf.SymbolicTensor;
  let h = stem;
  for (const i of [0, 1]) {
    const c = tf.layers.conv2d({filters: 3, kernelSize: 3, padding: 'same', name: `c${i}`}).apply(h);
    const b = tf.layers.batchNormalization({name: `bn${i}`, trainable: i === 1}).apply(c) as tf.SymbolicTensor;
    h = tf.layers.add({name: `add${i}`}).apply([h, b]) as tf.SymbolicTensor;
  }
  const bytes = await saveKerasModel(tf.model({inputs: input, outputs: h}));
  const notes: string[] = [];
  const loaded = await loadKerasModel(bytes, {onNote: (n) => notes.push(n)});
  expect(notes).toContain('1 BatchNormalization layer is frozen (trainable: false): as in Keras, it normalizes with the moving ' +
    'statistics in training too and leaves them unchanged');
  const xs = tf.randomUniform([4, 4, 4, 3], 0, 3, 'float32', 2);
  // bn0 frozen: its training output is its inference output (bn1, trainable, uses the batch's statistics).
  const probe = (m: tf.LayersModel, name: string) => {
    const sub = tf.model({inputs: m.inputs, outputs: m.getLayer(name).output as tf.SymbolicTensor});
    return maxDiff(sub.apply(xs, {training: true}), sub.apply(xs));
  };
  expect(probe(loaded, 'bn0')).toBe(0);
  expect(probe(loaded, 'bn1')).toBeGreaterThan(0.1);
  const {model: dropped} = dp.addDropPath(loaded, {rate: 0.2});
  expect(probe(dropped, 'bn0')).toBe(0);
  expect(probe(dropped, 'bn1')).toBeGreaterThan(0.1);
  const pruned = dp.pruneBlocks(dropped, {keep: [0]});
  expect(probe(pruned, 'bn0')).toBe(0);
});

test('no tensor is left behind by frozen training calls', () => {
  const m = model();
  dp.useKerasFrozenBatchNorm(m);
  m.getLayer('bn').trainable = false;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) tf.dispose(m.apply(x, {training: true}) as tf.Tensor);
  expect(tf.memory().numTensors).toBe(before);
  expect(() => dp.useKerasFrozenBatchNorm(m, 'yes' as never)).toThrow('useKerasFrozenBatchNorm: enabled must be a boolean, but received "yes".');
});
