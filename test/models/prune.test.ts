import {DropPath, StochasticResidual, dropPathSummary, keepEvery, layers as dpLayers, pruneBlocks, resnet} from '../../index';
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
    [{keep: [4]}, /keep must list block indices from 0 to 3 \(the model has 4 DropPath \/ StochasticResidual blocks\), but received 4/],
    [{keep: [-1]}, /but received -1/],
    [{keep: [1.5]}, /but received 1\.5/],
    [{keep: [1, 1]}, /keep lists block 1 twice/],
    [{keep: 'all'}, /keep must be an array of block indices or a predicate, but received "all"/],
  ])('%j', (args, message) => {
    expect(() => pruneBlocks(trainedish(), args as never)).toThrow(message);
  });

  test('a block with a projection shortcut is replaced by its shortcut', () => {
    const model = resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 16, blocks: 2}],
      blockType: 'stochasticResidual', seed: 4});
    const pruned = pruneBlocks(model, {keep: [1]});
    expect(pruned.layers.filter((l) => l instanceof StochasticResidual).map((l) => l.name)).toEqual(['stage1_block2_residual']);
    expect(pruned.layers.map((l) => l.name)).toContain('stage1_block1_shortcut_path');
    const want = tf.tidy(() => {
      const apply = (names: string[], t: tf.Tensor) => names.reduce((h, n) => model.getLayer(n).apply(h) as tf.Tensor, t);
      const projection = (model.getLayer('stage1_block1_residual') as StochasticResidual).shortcut!;
      let h = apply(['stem_conv', 'stem_bn', 'stem_act'], x);
      h = apply(['stage1_block1_out'], projection.apply(h) as tf.Tensor);
      h = apply(['stage1_block2_residual', 'stage1_block2_out', 'pool', 'head'], h);
      return values(h);
    });
    values(pruned.predict(x)).forEach((v, i) => expect(Math.abs(v - (want[i] as number))).toBeLessThan(1e-6));
  });

  test('keepEvery validates n', () => {
    expect(() => keepEvery(0)).toThrow(/keepEvery: n must be a positive integer, but received 0/);
  });
});

describe("the design card's form: x + DropPath(branch(x)) in a functional model", () => {
  const BRANCH = ['reduce_conv', 'reduce_bn', 'reduce_act', 'conv_conv', 'conv_bn', 'conv_act', 'expand_conv', 'expand_bn'];
  const build = () => resnet({inputShape: [8, 8, 1], numClasses: 3, stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 2}],
    dropPathRate: 0.3, seed: 5, name: 'card'});

  /** The inference forward pass by hand; blocks not in `keep` contribute only their shortcut. */
  function hand(model: tf.LayersModel, keep: number[]): number[] {
    return tf.tidy(() => {
      const apply = (names: string[], t: tf.Tensor) => names.reduce((h, n) => model.getLayer(n).apply(h) as tf.Tensor, t);
      let h = apply(['stem_conv', 'stem_bn', 'stem_act'], x);
      ['stage1_block1', 'stage1_block2', 'stage2_block1', 'stage2_block2'].forEach((b, i) => {
        const hasProjection = model.layers.some((l) => l.name === `${b}_shortcut_conv`);
        const shortcut = hasProjection ? apply([`${b}_shortcut_conv`, `${b}_shortcut_bn`], h) : h;
        const sum = keep.includes(i) ? tf.add(shortcut, apply(BRANCH.map((n) => `${b}_${n}`), h)) : shortcut;
        h = apply([`${b}_out`], sum);
      });
      return values(apply(['pool', 'head'], h));
    });
  }

  test.each([
    ['keepEvery(2)', keepEvery(2), [0, 2]],
    ['[1, 3]', [1, 3], [1, 3]],
    ['[] (every branch, projections kept)', [], []],
  ] as const)('keep %s: the branches go, predictions equal the forward pass without them', (_n, keep, kept) => {
    const model = build();
    const before = model.layers.length;
    const summary = dropPathSummary(model);
    expect(summary.rows.map((r) => [r.name, r.removable])).toEqual(
      ['stage1_block1', 'stage1_block2', 'stage2_block1', 'stage2_block2'].map((b) => [`${b}_drop_path`, true]));
    const pruned = pruneBlocks(model, {keep: keep as never});
    const removed = 4 - kept.length;
    expect(pruned.layers.length).toBe(before - removed * (BRANCH.length + 2)); // branch, DropPath and Add of each
    expect(dropPathSummary(pruned).rows.map((r) => r.name)).toEqual(summary.rows.filter((_, i) => (kept as readonly number[]).includes(i)).map((r) => r.name));
    values(pruned.predict(x)).forEach((v, i) => expect(Math.abs(v - (hand(model, [...kept])[i] as number))).toBeLessThan(1e-5));
    expect(model.layers.length).toBe(before); // the original is untouched
  });

  test('the pruned model saves and loads', async () => {
    const pruned = pruneBlocks(build(), {keep: [0]});
    expect(values((await roundTrip(pruned)).predict(x))).toEqual(values(pruned.predict(x)));
  });
});

describe('blocks inside sub-models', () => {
  test('StochasticResidual blocks nested in a sub-model are found, indexed and removed', () => {
    const inner = resnet({inputShape: [8, 8, 1], numClasses: 3, stages: [{filters: 8, blocks: 4}], blockType: 'stochasticResidual',
      dropPathRate: 0.4, seed: 6, name: 'inner_net'});
    const input = tf.input({shape: [8, 8, 1]});
    const outer = tf.model({inputs: input, outputs: inner.apply(input) as tf.SymbolicTensor, name: 'outer'});
    expect(dropPathSummary(outer).rows.map((r) => r.removable)).toEqual([true, true, true, true]);
    const pruned = pruneBlocks(outer, {keep: keepEvery(2)});
    const prunedInner = pruned.layers.find((l) => l.name === 'inner_net') as tf.LayersModel;
    expect(prunedInner.layers.filter((l) => l instanceof StochasticResidual).map((l) => l.name))
      .toEqual(['stage1_block1_residual', 'stage1_block3_residual']);
    const direct = pruneBlocks(inner, {keep: keepEvery(2)});
    expect(values(pruned.predict(x))).toEqual(values(direct.predict(x)));
  });
});

describe('nothing silent', () => {
  test('a model with nothing it can prune throws, naming each block and why', () => {
    const seq = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4], name: 'fc'}), new DropPath({rate: 0.1, name: 'lonely_drop'})]});
    expect(() => pruneBlocks(seq, {keep: []})).toThrow(/model '.*' has no block whose branch can be removed \('lonely_drop': a DropPath in a Sequential model has no residual Add/);
    const plain = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4]})]});
    expect(() => pruneBlocks(plain, {keep: []})).toThrow(/has no block whose branch can be removed \(it has no DropPath or StochasticResidual layer\)/);
  });

  test('asking to remove a block it cannot remove throws, naming it and why', () => {
    const input = tf.input({shape: [4]});
    const a = tf.layers.dense({units: 4, name: 'fc_a'}).apply(input) as tf.SymbolicTensor;
    const dropped = new DropPath({rate: 0.2, name: 'not_residual'}).apply(a) as tf.SymbolicTensor; // feeds a Dense, not an Add
    const b = tf.layers.dense({units: 4, name: 'fc_b'}).apply(dropped) as tf.SymbolicTensor;
    const block = dpLayers.stochasticResidual({branch: tf.layers.dense({units: 4, name: 'fc_c'}), rate: 0.2, name: 'res_ok'});
    const model = tf.model({inputs: input, outputs: block.apply(b) as tf.SymbolicTensor});
    expect(dropPathSummary(model).rows.map((r) => r.removable)).toEqual([false, true]);
    expect(() => pruneBlocks(model, {keep: [1]})).toThrow(/block 0 \('not_residual'\) cannot be removed: its output does not feed exactly one two-input Add/);
    expect(pruneBlocks(model, {keep: [0]}).layers.some((l) => l.name === 'res_ok')).toBe(false);
  });
});
