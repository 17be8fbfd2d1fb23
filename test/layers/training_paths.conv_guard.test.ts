/**
 * The guard for strided 1×1 convolutions (a crash of tfjs-node's filter
 * gradient): the guarded training call computes what the stock call computes,
 * its gradients equal the pure-JS cpu backend's, and models that have such
 * convolutions (the builders' projection shortcuts, Keras files) train.
 */
import * as dp from '../../index';
import * as keras from '../../keras';
import {guardStridedPointwiseConv, isConvGuarded, needsConvGuard} from '../../layers/training_paths';
import {allNestedLayers} from '../../models/find_layers';
import {onBackend, tensorCounts, tf} from '../utils/tf';

function conv(args: {strides: number | [number, number]; padding?: 'same' | 'valid'; useBias?: boolean; activation?: 'relu' | 'linear'}) {
  const layer = tf.layers.conv2d({filters: 5, kernelSize: 1, kernelInitializer: tf.initializers.randomNormal({seed: 1}),
    biasInitializer: tf.initializers.randomNormal({seed: 2}), padding: 'same', useBias: true, activation: 'linear', ...args});
  layer.build([null, 7, 6, 3]);
  return layer;
}

describe('guardStridedPointwiseConv', () => {
  test('guards exactly the 1×1 convolutions with a stride above 1', () => {
    expect(needsConvGuard(conv({strides: 2}))).toBe(true);
    expect(needsConvGuard(conv({strides: [1, 3]}))).toBe(true);
    expect(needsConvGuard(conv({strides: 1}))).toBe(false);
    const three = tf.layers.conv2d({filters: 2, kernelSize: 3, strides: 2});
    expect(needsConvGuard(three)).toBe(false);
    expect(guardStridedPointwiseConv(three)).toBe(false);
    expect(needsConvGuard(tf.layers.dense({units: 2}))).toBe(false);
  });

  test.each([
    [2, 'same', true, 'linear'], [2, 'valid', false, 'relu'], [3, 'same', true, 'relu'], [[2, 3], 'valid', true, 'linear'],
  ] as const)('strides %j, %s padding, bias %s, %s: the training call equals the stock call (odd and even sizes)', (strides, padding, useBias, activation) => {
    const layer = conv({strides: strides as number | [number, number], padding, useBias, activation});
    for (const shape of [[4, 7, 6, 3], [3, 8, 9, 3]]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
      const stock = layer.apply(x, {training: true}) as tf.Tensor;
      expect(guardStridedPointwiseConv(layer)).toBe(true);
      const guarded = layer.apply(x, {training: true}) as tf.Tensor;
      expect(guarded.shape).toEqual(stock.shape);
      expect(tf.abs(guarded.sub(stock)).max().dataSync()[0]).toBeLessThan(1e-5);
      tf.dispose([x, stock, guarded]);
    }
  });

  test('gradients equal the pure-JS cpu backend\'s (kernel, bias and input)', async () => {
    const grads = async (backend: 'tensorflow' | 'cpu') => onBackend(backend, () => {
      const layer = conv({strides: 2});
      guardStridedPointwiseConv(layer);
      const x = tf.randomNormal([3, 7, 6, 3], 0, 1, 'float32', 4);
      const dy = tf.randomNormal([3, 4, 3, 5], 0, 1, 'float32', 5);
      const loss = (xx: tf.Tensor) => (layer.apply(xx, {training: true}) as tf.Tensor).mul(dy).sum() as tf.Scalar;
      const {grads: byVariable} = tf.variableGrads(() => loss(x));
      const out = [tf.grad(loss)(x), ...Object.keys(byVariable).sort().map((k) => byVariable[k] as tf.Tensor)];
      return out.map((t) => Array.from(t.dataSync()));
    });
    const [node, cpu] = [await grads('tensorflow'), await grads('cpu')];
    expect(node.map((g) => g.length)).toEqual([3 * 7 * 6 * 3, 5, 15]);
    node.forEach((g, i) => g.forEach((v, j) => expect(Math.abs(v - (cpu[i] as number[])[j]!)).toBeLessThan(1e-4)));
  });

  test('the models the package hands back are guarded: loaded from Keras, pruned, and any model given to useFastBlocks', async () => {
    const model = dp.resnet({inputShape: [12, 12, 3], numClasses: 3, seed: 4, dropPathRate: 0.2,
      stages: [{filters: 8, blocks: 2}, {filters: 16, blocks: 2, strides: 2}]});
    const pruned = dp.pruneBlocks(model, {keep: [0, 2, 3]});
    expect(allNestedLayers(pruned).filter(needsConvGuard).map(isConvGuarded)).toEqual([true]);
    const loaded = await keras.loadKerasModel(await keras.saveKerasModel(model));
    expect(allNestedLayers(loaded).filter(needsConvGuard).map(isConvGuarded)).toEqual([true]);
    const input = tf.input({shape: [12, 12, 3]});
    const own = tf.model({inputs: input, outputs: tf.layers.conv2d({filters: 4, kernelSize: 1, strides: 2}).apply(input) as tf.SymbolicTensor});
    expect(allNestedLayers(own).filter(needsConvGuard).map(isConvGuarded)).toEqual([false]);
    dp.useFastBlocks(own);
    expect(allNestedLayers(own).filter(needsConvGuard).map(isConvGuarded)).toEqual([true]);
    [model, pruned, loaded, own].forEach((m) => m.dispose());
  });

  test('a resnet with projection shortcuts trains on 12×12 inputs (the shape that aborted the process), no tensor leak', async () => {
    for (const blockType of ['plain', 'dropPath', 'stochasticResidual'] as const) {
      const model = dp.resnet({inputShape: [12, 12, 3], numClasses: 3, blockType, seed: 4, dropPathRate: 0.2,
        stages: [{filters: 8, blocks: 1}, {filters: 16, blocks: 1, strides: 2}]});
      expect(allNestedLayers(model).filter(needsConvGuard).map(isConvGuarded)).toEqual([true]);
      model.compile({optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError'});
      const x = tf.randomNormal([6, 12, 12, 3], 0, 1, 'float32', 6);
      const y = tf.zeros([6, 3]);
      const counts = await tensorCounts(async () => {
        for (let i = 0; i < 10; i++) await model.fit(x, y, {epochs: 1, batchSize: 6, verbose: 0});
      });
      expect(new Set(counts).size).toBe(1);
      tf.dispose([x, y]);
      model.dispose();
    }
  });
});
