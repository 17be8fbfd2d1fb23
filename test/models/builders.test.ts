import {DropPath, StochasticResidual, bottleneck, convBnAct, planResNet, resnet, schedules} from '../../index';
import {deriveSeed} from '../../src/internal/seeds';
import {roundTrip} from '../utils/io';
import {tf} from '../utils/tf';

function blockModel(inputShape: number[], args: Parameters<typeof bottleneck>[1]) {
  const x = tf.input({shape: inputShape});
  return tf.model({inputs: x, outputs: bottleneck(x, args)});
}

const layerNames = (m: tf.LayersModel) => m.layers.map((l) => l.name);

describe('convBnAct', () => {
  test('conv (same, no bias) → BN → activation, names from name', () => {
    const x = tf.input({shape: [9, 9, 3]});
    const y = convBnAct(x, {filters: 4, kernelSize: 3, strides: 2, name: 'stem'});
    expect(y.shape).toEqual([null, 5, 5, 4]);
    const m = tf.model({inputs: x, outputs: y});
    expect(layerNames(m).slice(1)).toEqual(['stem_conv', 'stem_bn', 'stem_act']);
    expect(m.getLayer('stem_conv').getConfig()).toMatchObject({padding: 'same', useBias: false});
    expect(m.countParams()).toBe(3 * 3 * 3 * 4 + 4 * 4);
  });

  test('activation null leaves it out', () => {
    const x = tf.input({shape: [4, 4, 2]});
    const m = tf.model({inputs: x, outputs: convBnAct(x, {filters: 2, kernelSize: 1, activation: null, name: 'p'})});
    expect(layerNames(m).slice(1)).toEqual(['p_conv', 'p_bn']);
  });
});

describe('bottleneck', () => {
  test.each([
    ['stride 1, same channels', [8, 8, 32], {filters: 32}, [null, 8, 8, 32], false],
    ['stride 1, channel change', [8, 8, 16], {filters: 32}, [null, 8, 8, 32], true],
    ['stride 2, same channels', [8, 8, 32], {filters: 32, strides: 2}, [null, 4, 4, 32], true],
    ['stride 2, odd size', [7, 7, 16], {filters: 64, strides: 2}, [null, 4, 4, 64], true],
  ] as const)('%s: output shape, projection shortcut exactly when needed', (_n, shape, args, outShape, projected) => {
    const m = blockModel([...shape], {...args, name: 'b'});
    expect(m.outputs[0]?.shape).toEqual(outShape);
    expect(layerNames(m).includes('b_shortcut_conv')).toBe(projected);
  });

  test('parameter count matches a hand count', () => {
    // in 16 → filters 32, reduction 4 (mid 8); BN has 4 params per channel.
    const reduce = 16 * 8 + 4 * 8;
    const conv = 3 * 3 * 8 * 8 + 4 * 8;
    const expand = 8 * 32 + 4 * 32;
    const shortcut = 16 * 32 + 4 * 32;
    expect(blockModel([8, 8, 16], {filters: 32, name: 'b'}).countParams()).toBe(reduce + conv + expand + shortcut);
    // in 32 → 32, stride 1: identity shortcut, no projection parameters.
    expect(blockModel([8, 8, 32], {filters: 32, name: 'b'}).countParams()).toBe(32 * 8 + 4 * 8 + conv + expand);
  });

  test('BatchNorm momentum defaults to 0.9; zeroInitLastBn starts the expand BN at gamma 0', () => {
    const m = blockModel([8, 8, 32], {filters: 32, name: 'z', zeroInitLastBn: true});
    expect(m.getLayer('z_reduce_bn').getConfig().momentum).toBe(0.9);
    const gamma = (name: string) => Array.from(m.getLayer(name).getWeights()[0]?.dataSync() ?? []);
    expect(gamma('z_expand_bn').every((v) => v === 0)).toBe(true);
    expect(gamma('z_reduce_bn').every((v) => v === 1)).toBe(true);
    const d = blockModel([8, 8, 32], {filters: 32, name: 'd', bnMomentum: 0.99});
    expect(Array.from(d.getLayer('d_expand_bn').getWeights()[0]?.dataSync() ?? []).every((v) => v === 1)).toBe(true);
    expect(d.getLayer('d_conv_bn').getConfig().momentum).toBe(0.99);
  });

  test('DropPath sits on the branch after the conv block and before the add', () => {
    const m = blockModel([8, 8, 32], {filters: 32, dropPathRate: 0.3, name: 'blk'});
    const dp = m.getLayer('blk_drop_path') as DropPath;
    expect(dp).toBeInstanceOf(DropPath);
    expect(dp.rate).toBe(0.3);
    expect(dp.inboundNodes[0]?.inboundLayers[0]?.name).toBe('blk_expand_bn');
    const add = m.getLayer('blk_add');
    expect(add.inboundNodes[0]?.inboundLayers.map((l) => l.name)).toContain('blk_drop_path');
    expect(layerNames(m).filter((n) => n.startsWith('blk_')).length).toBe(new Set(layerNames(m)).size - 1);
  });

  test.each([
    [{filters: 0}, /bottleneck: filters must be a positive integer, but received 0/],
    [{filters: -8}, /filters must be a positive integer, but received -8/],
    [{filters: 30, reduction: 4}, /reduction must divide filters \(30\), but received 4/],
    [{filters: 32, dropPathRate: 1.5}, /dropPathRate must be a finite number in \[0, 1\].*received 1\.5/],
    [{filters: 32, strides: 0}, /strides must be a positive integer, but received 0/],
    [{filters: 32, bnMomentum: 1}, /bnMomentum must be a number in \[0, 1\), but received 1/],
    [{filters: 32, zeroInitLastBn: 'yes'}, /zeroInitLastBn must be a boolean, but received "yes"/],
  ])('bad args %j', (args, message) => {
    const x = tf.input({shape: [8, 8, 16]});
    expect(() => bottleneck(x, args as never)).toThrow(message);
  });

  test('a rank-2 input is rejected with its shape', () => {
    expect(() => bottleneck(tf.input({shape: [16]}), {filters: 16}))
      .toThrow(/x must have shape \[batch, height, width, channels\].*\[null,16\]/);
  });
});

test("unnamed blocks take tfjs-layers' own unique names, and two of them save and load in one model", async () => {
  const x = tf.input({shape: [8, 8, 8]});
  const y = bottleneck(bottleneck(x, {filters: 8, dropPathRate: 0.2}), {filters: 8, dropPathRate: 0.2, blockType: 'stochasticResidual'});
  const m = tf.model({inputs: x, outputs: y});
  const names = m.layers.map((l) => l.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.some((n) => /^conv2d_Conv2D\d+$/.test(n))).toBe(true);
  expect(names.some((n) => /^drop_path_DropPath\d+$/.test(n))).toBe(true);
  const loaded = await roundTrip(m);
  const input = tf.ones([1, 8, 8, 8]);
  expect(Array.from((loaded.predict(input) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(input) as tf.Tensor).dataSync()));
});

describe('resnet', () => {
  const args = {
    inputShape: [12, 12, 1], numClasses: 3, dropPathRate: 0.4, seed: 1,
    stages: [{filters: 16, blocks: 2}, {filters: 32, blocks: 2, strides: 2}],
  };

  test.each(['linear', 'linspace', 'uniform'] as const)("blocks carry exactly schedules.%s's rates", (schedule) => {
    const model = resnet({...args, schedule});
    const rates = model.layers.filter((l) => l instanceof DropPath).map((l) => (l as DropPath).rate);
    expect(rates).toEqual(schedules[schedule](4, 0.4));
    expect(planResNet({...args, schedule}).map((b) => b.dropPathRate)).toEqual(rates);
  });

  test('layout: stem, stages, pool, softmax head; first block of a stage takes its stride', () => {
    const model = resnet(args);
    expect(model.outputs[0]?.shape).toEqual([null, 3]);
    expect(model.getLayer('stage2_block1_conv_conv').getConfig().strides).toEqual([2, 2]);
    expect(model.getLayer('stage2_block2_conv_conv').getConfig().strides).toEqual([1, 1]);
    expect(layerNames(model)).toContain('stage1_block1_shortcut_conv'); // stem 8 ch → 16
    expect(layerNames(model)).not.toContain('stage1_block2_shortcut_conv');
    expect(new Set(layerNames(model)).size).toBe(model.layers.length);
  });

  test('the same seed builds the same weights', () => {
    const a = resnet(args).getWeights().map((w) => Array.from(w.dataSync()));
    const b = resnet(args).getWeights().map((w) => Array.from(w.dataSync()));
    expect(b).toEqual(a);
  });

  test('seeds s and s + 1 build independent models: no kernel and no drop stream in common', () => {
    const kernels = (seed: number) => {
      const m = resnet({...args, seed});
      const ks = m.weights.filter((w) => /kernel/.test(w.originalName)).map((w) => w.read().dataSync().slice(0, 8).join(','));
      const drops = m.layers.filter((l): l is DropPath => l instanceof DropPath).map((l) => l.seed);
      return {ks, drops};
    };
    const one = kernels(1);
    const two = kernels(2);
    expect(one.ks.length).toBeGreaterThan(6);
    // Today's bug was block i of seed 2 == block i + 1 of seed 1: no kernel of one may appear in the other.
    expect(one.ks.filter((k) => two.ks.includes(k))).toEqual([]);
    expect(new Set(one.ks).size).toBe(one.ks.length); // nor twice within one model
    expect(one.drops.filter((d) => two.drops.includes(d))).toEqual([]);
    expect(new Set([...one.drops, ...two.drops]).size).toBe(one.drops.length * 2);
  });

  test.each([2 ** 49, Number.MAX_SAFE_INTEGER, -(2 ** 40), 0])('every safe integer is a seed: %d', (seed) => {
    const a = resnet({...args, seed}).getWeights().map((w) => w.dataSync()[0]);
    const b = resnet({...args, seed}).getWeights().map((w) => w.dataSync()[0]);
    expect(b).toEqual(a);
  });

  test('deriveSeed: distinct (seed, role, index) give distinct safe-integer seeds', () => {
    const seen = new Set<number>();
    let count = 0;
    for (const seed of [0, 1, 2, 3, -1, 2 ** 32, 2 ** 32 + 1, 2 ** 49, Number.MAX_SAFE_INTEGER]) {
      for (const role of ['block', 'stem', 'head', 'reduce', 'conv', 'expand', 'shortcut', 'drop']) {
        for (let i = 0; i < 64; i++) {
          const d = deriveSeed(seed, role, i);
          expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
          seen.add(d);
          count++;
        }
      }
    }
    expect(seen.size).toBe(count);
  });

  test('trains on tfjs-node: loss decreases over a few steps', async () => {
    const model = resnet(args);
    model.compile({optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy'});
    // Three classes that differ in where the bright pixels are.
    const labels = Array.from({length: 48}, (_, i) => i % 3);
    const xs = tf.tidy(() => {
      const noise = tf.randomUniform([48, 12, 12, 1], 0, 0.3, 'float32', 2);
      const rows = tf.oneHot(tf.tensor1d(labels.map((c) => c * 4 + 1), 'int32'), 12).reshape([48, 12, 1, 1]);
      return tf.add(noise, tf.tile(rows, [1, 1, 12, 1]));
    });
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const h = await model.fit(xs, ys, {epochs: 8, batchSize: 16, verbose: 0});
    const loss = h.history.loss as number[];
    expect(loss[loss.length - 1] as number).toBeLessThan((loss[0] as number) * 0.8);
  });

  test('save → load round trip: identical predictions, same rates', async () => {
    const model = resnet(args);
    const loaded = await roundTrip(model);
    const x = tf.randomUniform([4, 12, 12, 1], 0, 1, 'float32', 3);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync()))
      .toEqual(Array.from((model.predict(x) as tf.Tensor).dataSync()));
    const rates = (m: tf.LayersModel) => m.layers.filter((l) => l instanceof DropPath).map((l) => (l as DropPath).rate);
    expect(rates(loaded)).toEqual(rates(model));
  });

  test("blockType 'stochasticResidual': same parameters and weights as 'dropPath', saves, loads and trains", async () => {
    const viaDropPath = resnet({...args, blockType: 'dropPath'});
    const viaMask = resnet({...args, blockType: 'stochasticResidual', strategy: 'mask'});
    const viaSkip = resnet({...args, blockType: 'stochasticResidual'});
    expect(viaMask.countParams()).toBe(viaDropPath.countParams());
    const blocks = viaSkip.layers.filter((l) => l instanceof StochasticResidual) as StochasticResidual[];
    expect(blocks.map((b) => b.rate)).toEqual(schedules.linear(4, 0.4));
    expect(blocks.map((b) => b.strategy)).toEqual(['skip', 'skip', 'skip', 'skip']);
    expect(blocks.map((b) => b.shortcut !== null)).toEqual([true, false, true, false]);
    // Same seed: same weights (the blocks differ only in how they drop).
    const byName = (m: tf.LayersModel) => Object.fromEntries(m.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
    expect(byName(viaMask)).toEqual(byName(viaDropPath));
    const x = tf.randomUniform([6, 12, 12, 1], 0, 1, 'float32', 3);
    const pm = (viaMask.predict(x) as tf.Tensor).dataSync();
    (viaDropPath.predict(x) as tf.Tensor).dataSync().forEach((v, i) => expect(Math.abs(v - (pm[i] as number))).toBeLessThan(1e-6));
    const loaded = await roundTrip(viaSkip);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync()))
      .toEqual(Array.from((viaSkip.predict(x) as tf.Tensor).dataSync()));
    viaSkip.compile({optimizer: 'adam', loss: 'categoricalCrossentropy'});
    const h = await viaSkip.fit(x, tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3), {epochs: 2, verbose: 0});
    expect(h.history.loss?.every((v) => Number.isFinite(v as number))).toBe(true);
  });

  test("blockType 'plain' has no drop layer", () => {
    const m = resnet({...args, blockType: 'plain'});
    expect(m.layers.some((l) => l instanceof DropPath || l instanceof StochasticResidual)).toBe(false);
    expect(m.countParams()).toBe(resnet(args).countParams());
  });

  test.each([
    [{blockType: 'residual'}, /blockType must be one of 'dropPath', 'stochasticResidual', 'plain', but received "residual"/],
    [{stages: []}, /resnet: stages must be a non-empty array/],
    [{stages: [{filters: 16, blocks: 0}]}, /stages\[0\]\.blocks must be a positive integer, but received 0/],
    [{stages: [{filters: 0, blocks: 1}]}, /stages\[0\]\.filters must be a positive integer, but received 0/],
    [{stages: [{filters: 18, blocks: 1}]}, /resnet: stages\[0\]\.filters \(18\) must be divisible by reduction \(4, the default\)/],
    [{dropPathRate: 2}, /resnet: dropPathRate must be a finite number in \[0, 1\].*received 2/],
    [{schedule: 'cosine'}, /resnet: schedule must be one of/],
    [{inputShape: [12, 12]}, /inputShape must be \[height, width, channels\], but received an array of length 2/],
    [{numClasses: 0}, /numClasses must be a positive integer, but received 0/],
  ])('bad args %j', (bad, message) => {
    expect(() => resnet({...args, ...bad} as never)).toThrow(message);
  });
});
