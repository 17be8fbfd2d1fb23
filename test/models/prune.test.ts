import {StochasticResidual, keepEvery, pruneBlocks, resnet} from '../../src';
import {roundTrip} from '../utils/io';
import {tf} from '../utils/tf';

function trainedish() {
  // stem 8 ch → four 8-ch blocks: identity shortcuts, all removable.
  return resnet({inputShape: [8, 8, 1], numClasses: 3, stages: [{filters: 8, blocks: 4}], dropPathRate: 0.4,
    blockType: 'stochasticResidual', seed: 3, name: 'net'});
}
const x = tf.randomUniform([5, 8, 8, 1], 0, 1, 'float32', 7);
const values = (t: tf.Tensor | tf.Tensor[]) => Array.from((t as tf.Tensor).dataSync());

/** The forward pass by hand, skipping the residual layer of removed blocks. */
function handForward(model: tf.LayersModel, keep: number[]): number[] {
  return tf.tidy(() => {
    let h = ['stem_conv', 'stem_bn', 'stem_act'].reduce((t, n) => model.getLayer(n).apply(t) as tf.Tensor, x as tf.Tensor);
    for (let i = 0; i < 4; i++) {
      if (keep.includes(i)) h = model.getLayer(`stage1_block${i + 1}_residual`).apply(h) as tf.Tensor;
      h = model.getLayer(`stage1_block${i + 1}_out`).apply(h) as tf.Tensor;
    }
    h = model.getLayer('pool').apply(h) as tf.Tensor;
    return values(model.getLayer('head').apply(h) as tf.Tensor);
  });
}

test.each([
  ['[0, 2]', [0, 2], [0, 2]],
  ['keepEvery(2)', keepEvery(2), [0, 2]],
  ['[3]', [3], [3]],
  ['[] (no block)', [], []],
  ['predicate i > 0', (i: number) => i > 0, [1, 2, 3]],
] as const)('keep %s: prediction equals the forward pass without the removed blocks', (_n, keep, kept) => {
  const model = trainedish();
  const before = values(model.predict(x));
  const layerCount = model.layers.length;
  const pruned = pruneBlocks(model, {keep: keep as never});
  expect(pruned).not.toBe(model);
  expect(pruned.name).toBe('net_pruned');
  expect(pruned.layers.filter((l) => l instanceof StochasticResidual).map((l) => l.name))
    .toEqual(kept.map((i) => `stage1_block${i + 1}_residual`));
  const got = values(pruned.predict(x));
  const want = handForward(model, [...kept]);
  got.forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-6));
  // Kept layers carry the same weights; the original model is untouched.
  for (const layer of pruned.layers) {
    expect(layer.getWeights().map(values)).toEqual(model.getLayer(layer.name).getWeights().map(values));
  }
  expect(model.layers.length).toBe(layerCount);
  expect(values(model.predict(x))).toEqual(before);
});

test('the pruned model has copies: training it leaves the original alone', async () => {
  const model = trainedish();
  const before = values(model.predict(x));
  const pruned = pruneBlocks(model, {keep: [1]});
  pruned.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
  await pruned.fit(x, tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3), {epochs: 2, verbose: 0});
  expect(values(model.predict(x))).toEqual(before);
});

test('the pruned model saves and loads with identical predictions', async () => {
  const pruned = pruneBlocks(trainedish(), {keep: keepEvery(2)});
  const loaded = await roundTrip(pruned);
  expect(values(loaded.predict(x))).toEqual(values(pruned.predict(x)));
});

test('a Sequential model of blocks prunes too', () => {
  const mk = (i: number) => tf.sequential({name: `b${i}_branch`, layers: [tf.layers.dense({units: 4, inputShape: [4], name: `b${i}_fc`})]});
  const seq = tf.sequential({layers: [0, 1, 2].map((i) =>
    new StochasticResidual({branch: mk(i), rate: 0.2, name: `b${i}`, ...(i === 0 ? {inputShape: [4]} : {})}))});
  const pruned = pruneBlocks(seq, {keep: [0, 2]});
  const y = tf.ones([2, 4]);
  const b0 = seq.getLayer('b0').apply(y) as tf.Tensor;
  expect(values(pruned.predict(y))).toEqual(values(seq.getLayer('b2').apply(b0) as tf.Tensor));
});

describe('bad keep', () => {
  test.each([
    [{keep: [4]}, /keep must list block indices from 0 to 3 \(the model has 4 StochasticResidual blocks\), but received 4/],
    [{keep: [-1]}, /but received -1/],
    [{keep: [1.5]}, /but received 1\.5/],
    [{keep: [1, 1]}, /keep lists block 1 twice/],
    [{keep: 'all'}, /keep must be an array of block indices or a predicate, but received "all"/],
  ])('%j', (args, message) => {
    expect(() => pruneBlocks(trainedish(), args as never)).toThrow(message);
  });

  test('a block with a projection shortcut cannot be removed', () => {
    const model = resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 16, blocks: 2}],
      blockType: 'stochasticResidual'});
    expect(() => pruneBlocks(model, {keep: [1]}))
      .toThrow(/block 0 \('stage1_block1_residual'\) has a projection shortcut \('stage1_block1_shortcut_path'\).*keep it/);
    expect(pruneBlocks(model, {keep: [0]}).layers.filter((l) => l instanceof StochasticResidual)).toHaveLength(1);
  });

  test('keepEvery validates n', () => {
    expect(() => keepEvery(0)).toThrow(/keepEvery: n must be a positive integer, but received 0/);
  });
});
