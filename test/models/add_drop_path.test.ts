/**
 * addDropPath / setDropPathRates (issue 20, the 'mask' strategy): residual
 * blocks found by the graph in the builders' models of every block type,
 * hand-written functional ResNets with projection shortcuts (renamed: the
 * same blocks), Keras-read ConvNeXt and EfficientNetV2; weights carried over
 * (inference diff 0), drops at the rates asked (binomial test), and the new
 * model saves, loads, prunes, summarizes and schedules.
 */
import * as path from 'path';
import type {io} from '@tensorflow/tfjs-core';

import * as dp from '../../index';
import {loadKerasModel, saveKerasModel} from '../../keras';
import {tf} from '../utils/tf';
import {binomialTwoSided} from '../utils/stats';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'keras');
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
const small = (blockType: dp.BlockType) => dp.resnet({inputShape: [8, 8, 3], numClasses: 2, blockType, seed: 1,
  stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 2, strides: 2}]});

/** A hand-written functional ResNet: two identity blocks and one with a projection shortcut; names from `tag`. */
function handWritten(tag: string) {
  const n = (s: string) => `${tag}${s}`;
  const input = tf.input({shape: [8, 8, 4], name: n('in')});
  let x = tf.layers.conv2d({filters: 8, kernelSize: 3, padding: 'same', name: n('stem')}).apply(input) as tf.SymbolicTensor;
  const block = (inp: tf.SymbolicTensor, i: number, filters: number, strides: number) => {
    let b = tf.layers.conv2d({filters, kernelSize: 3, strides, padding: 'same', name: n(`b${i}c1`)}).apply(inp) as tf.SymbolicTensor;
    b = tf.layers.reLU({name: n(`b${i}r`)}).apply(b) as tf.SymbolicTensor;
    b = tf.layers.conv2d({filters, kernelSize: 3, padding: 'same', name: n(`b${i}c2`)}).apply(b) as tf.SymbolicTensor;
    const s = strides === 1 && filters === inp.shape[3] ? inp :
      tf.layers.conv2d({filters, kernelSize: 1, strides, name: n(`b${i}proj`)}).apply(inp) as tf.SymbolicTensor;
    return tf.layers.add({name: n(`b${i}add`)}).apply([s, b]) as tf.SymbolicTensor;
  };
  x = block(x, 0, 8, 1);
  x = block(x, 1, 16, 2);
  x = block(x, 2, 16, 1);
  const out = tf.layers.globalAveragePooling2d({name: n('pool')}).apply(x) as tf.SymbolicTensor;
  return tf.model({inputs: input, outputs: out, name: n('model')});
}

test.each([
  ['plain', 'inserted'], ['dropPath', 'set'], ['stochasticResidual', 'set'],
] as const)('the builders\' %s blocks: 4 blocks found, the drop %s, linspace rates, predictions unchanged', (blockType, action) => {
  const model = small(blockType);
  const before = model.layers.length;
  const {model: out, blocks} = dp.addDropPath(model, {rate: 0.3});
  expect(blocks.map((b) => b.action)).toEqual([action, action, action, action]);
  expect(blocks.map((b) => b.rate)).toEqual(dp.schedules.linspace(4, 0.3));
  expect(blocks.map((b) => b.shortcut)).toEqual(blockType === 'stochasticResidual' ? Array(4).fill('stochasticResidual') :
    ['identity', 'identity', 'projection', 'identity']);
  expect(model.layers.length).toBe(before); // the input model is untouched
  const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2);
  expect(maxDiff(out.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
  expect(dp.dropPathSummary(out).rows.map((r) => r.rate)).toEqual(dp.schedules.linspace(4, 0.3));
});

test('recognition follows the graph, not the names: a hand-written ResNet and its renamed copy give the same blocks', () => {
  const a = dp.addDropPath(handWritten(''), {rate: 0.2, schedule: 'linear'}).blocks;
  const b = dp.addDropPath(handWritten('zz_'), {rate: 0.2, schedule: 'linear'}).blocks;
  expect(a.map((x) => [x.shortcut, x.action, x.rate])).toEqual([['identity', 'inserted', 0.2 / 3], ['projection', 'inserted', 0.4 / 3],
    ['identity', 'inserted', 0.2]]);
  expect(b.map((x) => [x.shortcut, x.action, x.rate])).toEqual(a.map((x) => [x.shortcut, x.action, x.rate]));
  expect(a.map((x) => x.branch)).toEqual(['b0c2', 'b1c2', 'b2c2']);
  expect(b.map((x) => x.branch)).toEqual(['zz_b0c2', 'zz_b1c2', 'zz_b2c2']);
});

test('a training step drops each sample\'s branch at the rate asked (binomial test), inference is the identity', () => {
  const input = tf.input({shape: [3]});
  const branch = tf.layers.dense({units: 3, kernelInitializer: 'ones', biasInitializer: 'ones'}).apply(input) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: tf.layers.add().apply([input, branch]) as tf.SymbolicTensor});
  const {model: out} = dp.addDropPath(model, {rates: [0.3], seed: 5}); // linspace would give one block rate 0
  const x = tf.ones([2000, 3]);
  const y = (out.apply(x, {training: true}) as tf.Tensor).dataSync();
  let dropped = 0;
  for (let i = 0; i < 2000; i++) {
    const v = y[i * 3] as number;
    if (v === 1) dropped++;
    else expect(v).toBeCloseTo(1 + 4 / 0.7, 4); // kept: x + branch / keep
  }
  expect(binomialTwoSided(dropped, 2000, 0.3)).toBeGreaterThan(1e-4);
  expect(maxDiff(out.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
});

test('keras.applications ConvNeXt: its identity placeholder is replaced, its StochasticDepth rates set — no drop stacked beside', async () => {
  const keras = await loadKerasModel(path.join(FIXTURES, 'convnext_reduced.keras'));
  const {model, blocks} = dp.addDropPath(keras, {rate: 0.1});
  expect(blocks.map((b) => b.action)).toEqual(['replaced', 'set', 'set', 'set', 'set']);
  expect(blocks.map((b) => b.rate)).toEqual(dp.schedules.linspace(5, 0.1));
  expect(dp.dropPathSummary(model).rows).toHaveLength(5);
  const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 3);
  expect(maxDiff(model.predict(x) as tf.Tensor, keras.predict(x) as tf.Tensor)).toBe(0);
  // Written as a .keras and read back: the same rates and predictions.
  const again = await loadKerasModel(await saveKerasModel(model));
  expect(dp.dropPathSummary(again).rows.map((r) => r.rate)).toEqual(dp.schedules.linspace(5, 0.1));
  expect(maxDiff(again.predict(x) as tf.Tensor, keras.predict(x) as tf.Tensor)).toBe(0);
});

test('the new model saves and loads through tf.io with its drops', async () => {
  const {model} = dp.addDropPath(small('plain'), {rate: 0.2});
  let artifacts: io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
  }));
  const back = await tf.loadLayersModel(tf.io.fromMemory(artifacts as io.ModelArtifacts));
  expect(dp.dropPathSummary(back).rows.map((r) => r.rate)).toEqual(dp.schedules.linspace(4, 0.2));
  const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 6);
  expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
});

test('keras.applications EfficientNetV2: its noise-shaped Dropouts are the drops, their rates set by the schedule', async () => {
  const keras = await loadKerasModel(path.join(FIXTURES, 'efficientnetv2_reduced.keras'));
  const {model, blocks} = dp.addDropPath(keras, {rate: 0.2, schedule: 'uniform'});
  expect(blocks.map((b) => [b.branch, b.action, b.rate])).toEqual([['block1a_project_activation', 'inserted', 0.2],
    ['block5b_drop', 'set', 0.2], ['block6b_drop', 'set', 0.2]]);
  expect((model.getLayer('block5b_drop') as unknown as {rate: number}).rate).toBe(0.2);
});

test('the new model trains with a scheduler and prunes; setDropPathRates changes rates in place', async () => {
  const {model} = dp.addDropPath(small('plain'), {rate: 0.4});
  model.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
  const xs = tf.randomUniform([8, 8, 8, 3], 0, 1, 'float32', 4);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
  const h = await model.fit(xs, ys, {epochs: 2, verbose: 0, callbacks: [new dp.DropPathScheduler({schedule: dp.timeSchedules.early(0.4, 1)})]});
  expect(h.history.dropPathRate).toEqual([0.4, 0]);
  expect(dp.dropPathSummary(dp.pruneBlocks(model, {keep: dp.keepEvery(2)})).rows).toHaveLength(2);
  const set = dp.setDropPathRates(model, {rates: [0.1, 0.2, 0.3, 0.4]});
  expect(set.map((b) => b.rate)).toEqual([0.1, 0.2, 0.3, 0.4]);
  expect(dp.dropPathSummary(model).rows.map((r) => r.rate)).toEqual([0.1, 0.2, 0.3, 0.4]);
});

test('blocks selects by index; rates gives one per block; the refusals name what was expected', () => {
  const model = small('plain');
  const {blocks} = dp.addDropPath(model, {rates: [0.5, 0.25], blocks: [1, 3]});
  expect(blocks.map((b) => [b.action, b.rate])).toEqual([['kept', 0], ['inserted', 0.5], ['kept', 0], ['inserted', 0.25]]);
  expect(() => dp.addDropPath(model, {} as never)).toThrow(/give rate .* or rates .*, but received neither/);
  expect(() => dp.addDropPath(model, {rates: [0.1]})).toThrow(/rates must give one rate per block \(4\), but gives 1/);
  expect(() => dp.addDropPath(model, {rate: 0.1, blocks: [7]})).toThrow(/block indices from 0 to 3, but received 7/);
  expect(() => dp.addDropPath(model, {rate: 1.5})).toThrow(/rate must be a finite number in \[0, 1\]/);
  expect(() => dp.addDropPath(model, {rate: 0.1, schedul: 'linear'} as never)).toThrow(/unknown key 'schedul' \(did you mean 'schedule'\?\)/);
  const plainStack = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4]}), tf.layers.dense({units: 2})]});
  expect(() => dp.addDropPath(plainStack, {rate: 0.1})).toThrow(/no residual branch found in model '.*': looked at its 2 layers/);
});

describe("strategy 'skip': the block becomes a StochasticResidual that does not compute dropped samples' branches", () => {
  test('the builders\' plain ResNet: every block skips, predictions unchanged, saves and loads, trains', async () => {
    const model = small('plain');
    const {model: out, blocks} = dp.addDropPath(model, {rate: 0.3, strategy: 'skip'});
    expect(blocks.map((b) => b.action)).toEqual(['skip', 'skip', 'skip', 'skip']);
    expect(out.layers.filter((l) => l instanceof dp.StochasticResidual).map((l) => (l as dp.StochasticResidual).shortcut !== null))
      .toEqual([false, false, true, false]); // the projection went into the block as its shortcut
    // Saved before any inference runs: under Jest, tf.io cannot encode weights tfjs-node has already materialized
    // (typed arrays of Node's own realm); plain Node has no such limit.
    let artifacts: io.ModelArtifacts | undefined;
    await out.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }));
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 2);
    expect(maxDiff(out.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    const back = await tf.loadLayersModel(tf.io.fromMemory(artifacts as io.ModelArtifacts));
    expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
    const viaKeras = await loadKerasModel(await saveKerasModel(out)); // the twin's StochasticResidual in the .keras
    expect(maxDiff(viaKeras.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);
    out.compile({optimizer: 'adam', loss: 'categoricalCrossentropy'});
    const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    await out.fit(x, ys, {epochs: 1, verbose: 0});
    const n = tf.memory().numTensors;
    await out.fit(x, ys, {epochs: 1, verbose: 0});
    expect(tf.memory().numTensors).toBe(n);
  });

  test('one skipping block drops samples at its rate (binomial test): a dropped row is its input exactly', () => {
    const input = tf.input({shape: [3]});
    const branch = tf.layers.dense({units: 3, kernelInitializer: 'ones', biasInitializer: 'ones', name: 'br'}).apply(input) as tf.SymbolicTensor;
    const model = tf.model({inputs: input, outputs: tf.layers.add({name: 'sum'}).apply([input, branch]) as tf.SymbolicTensor});
    const {model: out} = dp.addDropPath(model, {rates: [0.3], strategy: 'skip', seed: 9});
    expect(out.getLayer('sum')).toBeInstanceOf(dp.StochasticResidual);
    const y = (out.apply(tf.ones([2000, 3]), {training: true}) as tf.Tensor).dataSync();
    let dropped = 0;
    for (let i = 0; i < 2000; i++) if (y[i * 3] === 1) dropped++;
    expect(binomialTwoSided(dropped, 2000, 0.3)).toBeGreaterThan(1e-4);
  });

  test('Keras-read ConvNeXt and EfficientNetV2 (squeeze-excite inside the branch) skip, with the same predictions', async () => {
    for (const name of ['convnext_reduced', 'efficientnetv2_reduced']) {
      const keras = await loadKerasModel(path.join(FIXTURES, `${name}.keras`));
      const {model, blocks} = dp.addDropPath(keras, {rate: 0.1, strategy: 'skip'});
      expect(blocks.every((b) => b.action === 'skip')).toBe(true);
      const x = tf.randomUniform([2, 32, 32, 3], 0, 255, 'float32', 3);
      expect(maxDiff(model.predict(x) as tf.Tensor, keras.predict(x) as tf.Tensor)).toBe(0);
    }
  });

  test('a branch that cannot be cut out: skip refuses naming the block and why, auto masks it with a note', () => {
    const input = tf.input({shape: [4]});
    const h = tf.layers.dense({units: 4, name: 'h'}).apply(input) as tf.SymbolicTensor;
    const sum = tf.layers.add({name: 'sum'}).apply([input, h]) as tf.SymbolicTensor;
    const side = tf.layers.dense({units: 2, name: 'side'}).apply(h) as tf.SymbolicTensor; // h also feeds a layer outside the block
    const model = tf.model({inputs: input, outputs: [sum, side]});
    expect(() => dp.addDropPath(model, {rates: [0.2], strategy: 'skip'}))
      .toThrow(/strategy 'skip' cannot cut out the branch of 1 block as a sub-model[\s\S]*block 0 \('sum'\): its layer 'h' also feeds 'side', outside the block/);
    const {blocks} = dp.addDropPath(model, {rates: [0.2], strategy: 'auto'});
    expect(blocks.map((b) => [b.action, b.note])).toEqual([['inserted', "masked: its layer 'h' also feeds 'side', outside the block"]]);
  });
});

test('a loaded EfficientNetV2\'s stochastic-depth Dropouts are listed by dropPathSummary and prunable like DropPath blocks', async () => {
  const keras = await loadKerasModel(path.join(FIXTURES, 'efficientnetv2_reduced.keras'));
  const rows = dp.dropPathSummary(keras).rows;
  expect(rows.map((r) => [r.name, r.type, r.mode, r.rate, r.removable])).toEqual([
    ['block5b_drop', 'Dropout', 'row', 0.047619047619047616, true], ['block6b_drop', 'Dropout', 'row', 0.06666666666666668, true]]);
  const pruned = dp.pruneBlocks(keras, {keep: [1]});
  expect(dp.dropPathSummary(pruned).rows.map((r) => r.name)).toEqual(['block6b_drop']);
  expect(pruned.layers.some((l) => l.name === 'block5b_add')).toBe(false);
});

test('a per-sample KerasDropout (a seeded Keras stochastic-depth Dropout as loaded) is a drop: set by addDropPath, listed, pruned', () => {
  const input = tf.input({shape: [4, 4, 2]});
  let x: tf.SymbolicTensor = input;
  for (const i of [0, 1]) {
    const branch = tf.layers.conv2d({filters: 2, kernelSize: 3, padding: 'same', name: `conv${i}`}).apply(x) as tf.SymbolicTensor;
    const dropped = new dp.KerasDropout({rate: 0.05, noiseShape: [null, 1, 1, 1], seed: 3 + i, name: `sd${i}`}).apply(branch) as tf.SymbolicTensor;
    x = tf.layers.add({name: `add${i}`}).apply([x, dropped]) as tf.SymbolicTensor;
  }
  const m = tf.model({inputs: input, outputs: x});
  const {model, blocks} = dp.addDropPath(m, {rate: 0.3, schedule: 'uniform'});
  expect(blocks.map((b) => [b.branch, b.action, b.rate])).toEqual([['sd0', 'set', 0.3], ['sd1', 'set', 0.3]]);
  expect(dp.dropPathSummary(model).rows.map((r) => [r.name, r.type, r.rate, r.removable])).toEqual([
    ['sd0', 'Dropout', 0.3, true], ['sd1', 'Dropout', 0.3, true]]);
  expect(() => dp.setDropPathRates(model, {rates: [0.1, 1.5]})).toThrow(/1\.5/);
  const pruned = dp.pruneBlocks(model, {keep: [1]});
  expect(dp.dropPathSummary(pruned).rows.map((r) => r.name)).toEqual(['sd1']);
});

test('residual blocks inside a nested model are found with the outer ones; the drops train, fast blocks and the Keras export work', async () => {
  const inner = handWritten('inner_');
  const input = tf.input({shape: [8, 8, 4]});
  const trunk = tf.layers.conv2d({filters: 4, kernelSize: 1, name: 'outer_stem'}).apply(input) as tf.SymbolicTensor;
  const branch = tf.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same', name: 'outer_branch'}).apply(trunk) as tf.SymbolicTensor;
  const res = tf.layers.add({name: 'outer_add'}).apply([trunk, branch]) as tf.SymbolicTensor;
  const pooled = inner.apply(res) as tf.SymbolicTensor;
  const out = tf.layers.dense({units: 2, activation: 'softmax', name: 'head'}).apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: out, name: 'outer'});
  const {model: withDrop, blocks} = dp.addDropPath(model, {rate: 0.3, seed: 2});
  expect(blocks.map((b) => [b.container, b.add])).toEqual([['outer', 'outer_add'], ['inner_model', 'inner_b0add'],
    ['inner_model', 'inner_b1add'], ['inner_model', 'inner_b2add']]);
  expect(blocks.map((b) => b.rate)).toEqual(dp.schedules.linspace(4, 0.3));
  const x = tf.randomUniform([4, 8, 8, 4], 0, 1, 'float32', 9);
  expect(maxDiff(withDrop.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
  // The Keras export keeps the nested model and its drops (saved before any training: tfjs-node's trained weights
  // come from another realm than the encoder expects under Jest).
  const back = await loadKerasModel(await saveKerasModel(withDrop));
  expect(dp.dropPathSummary(back).rows.map((r) => r.rate)).toEqual(dp.schedules.linspace(4, 0.3));
  expect(maxDiff(back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
  expect(dp.useFastBlocks(withDrop).rows).toEqual(dp.trainingPaths(withDrop).rows);
  withDrop.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await withDrop.trainOnBatch(x, ys);
  const after = tf.memory().numTensors;
  await withDrop.trainOnBatch(x, ys);
  expect(tf.memory().numTensors).toBe(after); // flat once the optimizer's slots exist
  expect(after).toBeGreaterThanOrEqual(before);
});
