/**
 * The transformer layers (MultiHeadSelfAttention, ClassTokenPosition,
 * TokenPool) against plain-JS references, and the vit / convnext builders:
 * timm's wiring (two drops per ViT block at the block's rate, linspace over
 * the blocks), the same weights and predictions in every blockType, 'skip' on
 * tokens dropping at its rate, save / load, and the package's model tools on
 * them. Exactness against timm itself: test/timm/.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {saveKerasModel} from '../../keras';

import * as dp from '../../index';
import {binomialTwoSided} from '../utils/stats';
import {saveToMemory} from '../utils/io';
import {onBackend, tf} from '../utils/tf';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number;
const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** softmax(q kᵀ / √hd) v per head, by loops over plain arrays (timm's Attention, written out). */
function referenceAttention(x: number[][][], wqkv: number[][], bqkv: number[] | null, wp: number[][], bp: number[], heads: number) {
  const dim = wp.length;
  const hd = dim / heads;
  return x.map((tokens) => {
    const qkv = tokens.map((t) => Array.from({length: 3 * dim}, (_, j) => t.reduce((s, v, i) => s + v * (wqkv[i] as number[])[j]!, 0) +
      (bqkv ? bqkv[j]! : 0)));
    const joined = tokens.map(() => new Array<number>(dim).fill(0));
    for (let h = 0; h < heads; h++) {
      const col = (part: number, n: number, c: number) => (qkv[n] as number[])[part * dim + h * hd + c]!;
      for (let n = 0; n < tokens.length; n++) {
        const logits = tokens.map((_, m) => {
          let s = 0;
          for (let c = 0; c < hd; c++) s += col(0, n, c) * col(1, m, c);
          return s / Math.sqrt(hd);
        });
        const top = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - top));
        const z = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < hd; c++) (joined[n] as number[])[h * hd + c] = e.reduce((s, w, m) => s + (w / z) * col(2, m, c), 0);
      }
    }
    return joined.map((t) => Array.from({length: dim}, (_, j) => t.reduce((s, v, i) => s + v * (wp[i] as number[])[j]!, bp[j]!)));
  });
}

describe('the transformer layers', () => {
  test.each([true, false])('MultiHeadSelfAttention (qkvBias %s) equals the written-out attention', (qkvBias) => {
    const layer = new dp.MultiHeadSelfAttention({numHeads: 2, qkvBias, seed: 3});
    const x = rand([2, 5, 6], 1);
    layer.apply(x);
    layer.setWeights(layer.getWeights().map((w, i) => rand(w.shape, 10 + i)));
    const [wqkv, ...rest] = layer.getWeights().map((w) => w.arraySync());
    const [bqkv, wp, bp] = qkvBias ? rest : [null, ...rest];
    const want = tf.tensor(referenceAttention(x.arraySync() as number[][][], wqkv as number[][], bqkv as number[] | null,
      wp as number[][], bp as number[], 2));
    expect(maxDiff(layer.apply(x) as tf.Tensor, want)).toBeLessThan(1e-4);
    expect(layer.getWeights().map((w) => w.shape)).toEqual(qkvBias ? [[6, 18], [18], [6, 6], [6]] : [[6, 18], [6, 6], [6]]);
  });

  test('ClassTokenPosition: [cls; x] + pos, [cls; x + pos] (embedClass false), x + pos (no class token)', () => {
    const x = rand([2, 3, 4], 2);
    const check = (args: dp.ClassTokenPositionArgs, tokens: number) => {
      const layer = new dp.ClassTokenPosition(args);
      layer.apply(x);
      layer.setWeights(layer.getWeights().map((w, i) => rand(w.shape, 20 + i)));
      const w = layer.getWeights();
      const out = layer.apply(x) as tf.Tensor;
      expect(out.shape).toEqual([2, tokens, 4]);
      return {out, w};
    };
    const a = check({}, 4);
    const clsA = tf.tile(a.w[0] as tf.Tensor, [2, 1, 1]);
    expect(maxDiff(a.out, tf.add(tf.concat([clsA, x], 1), a.w[1] as tf.Tensor))).toBe(0);
    const b = check({embedClass: false}, 4);
    expect((b.w[1] as tf.Tensor).shape).toEqual([1, 3, 4]);
    expect(maxDiff(b.out, tf.concat([tf.tile(b.w[0] as tf.Tensor, [2, 1, 1]), tf.add(x, b.w[1] as tf.Tensor)], 1))).toBe(0);
    const c = check({classToken: false}, 3);
    expect(maxDiff(c.out, tf.add(x, c.w[0] as tf.Tensor))).toBe(0);
  });

  test('TokenPool: the class token, or the mean of the patch tokens', () => {
    const x = rand([2, 4, 3], 3);
    expect(maxDiff(new dp.TokenPool().apply(x) as tf.Tensor, tf.squeeze(tf.slice(x, [0, 0, 0], [2, 1, 3]), [1]))).toBe(0);
    expect(maxDiff(new dp.TokenPool({pool: 'avg', prefixTokens: 1}).apply(x) as tf.Tensor, tf.mean(tf.slice(x, [0, 1, 0], [2, 3, 3]), 1)))
      .toBeLessThan(1e-7);
  });

  test.each([
    [() => new dp.MultiHeadSelfAttention({numHeads: 0}), /numHeads must be a positive integer, but received 0/],
    [() => new dp.MultiHeadSelfAttention({numHeads: 2, heads: 3} as never), /unknown key 'heads'/],
    [() => new dp.MultiHeadSelfAttention({numHeads: 4}).apply(tf.input({shape: [3, 6]})), /token dim 6 must divide by numHeads 4/],
    [() => new dp.MultiHeadSelfAttention({numHeads: 2}).apply(tf.input({shape: [6]})), /expected tokens of shape \[batch, tokens, dim\].*\[null,6\]/],
    [() => new dp.ClassTokenPosition({embedClass: 'no'} as never), /embedClass must be a boolean/],
    [() => new dp.TokenPool({pool: 'max'} as never), /pool must be one of 'token', 'avg'/],
  ] as const)('bad input %#', (make, message) => expect(make).toThrow(message));
});

describe('vit and convnext', () => {
  const tinyVit = (extra: Partial<dp.ViTArgs> = {}) => dp.vit({imageSize: 16, patchSize: 4, dim: 12, depth: 3, heads: 3, numClasses: 4,
    dropPathRate: 0.2, seed: 5, ...extra});
  const tinyConvnext = (extra: Partial<dp.ConvNeXtArgs> = {}) => dp.convnext({inputShape: [32, 32, 3], depths: [1, 2, 1, 1],
    dims: [8, 8, 16, 16], numClasses: 4, dropPathRate: 0.2, seed: 5, ...extra});

  test("vit: timm's wiring — two drops per block at the block's linspace rate, before each add", () => {
    const m = tinyVit();
    const rows = dp.dropPathSummary(m).rows;
    expect(rows.map((r) => r.name)).toEqual(['blocks_0_drop_path1', 'blocks_0_drop_path2', 'blocks_1_drop_path1', 'blocks_1_drop_path2',
      'blocks_2_drop_path1', 'blocks_2_drop_path2']);
    expect(rows.map((r) => r.rate)).toEqual([0, 0, 0.1, 0.1, 0.2, 0.2]);
    expect(rows.every((r) => r.removable)).toBe(true);
    expect(m.getLayer('blocks_1_add1').inboundNodes[0]!.inboundLayers.map((l) => l.name)).toEqual(['blocks_0_add2', 'blocks_1_drop_path1']);
    expect(m.outputs[0]!.shape).toEqual([null, 4]);
  });

  test.each([
    ['vit', () => tinyVit(), (t: string) => tinyVit({blockType: t as dp.BlockType}), [2, 16, 16, 3]],
    ['vit without class token, DeiT III form', () => tinyVit({classToken: false, layerScale: 0.1}),
      (t: string) => tinyVit({classToken: false, layerScale: 0.1, blockType: t as dp.BlockType}), [2, 16, 16, 3]],
    ['convnext', () => tinyConvnext(), (t: string) => tinyConvnext({blockType: t as dp.BlockType}), [2, 32, 32, 3]],
  ] as const)('%s: every blockType has the same weights and predictions; saves and loads bit-identical', (_n, make, as, shape) => onBackend('cpu', async () => {
    // On the cpu backend: under Jest, tf.io cannot encode the weights tfjs-node's kernels made (another realm's Float32Array).
    const base = make();
    const artifacts = await saveToMemory(base);
    const x = rand([...shape], 7);
    const want = base.predict(x) as tf.Tensor;
    for (const t of ['stochasticResidual', 'plain']) {
      const other = as(t);
      expect(other.countParams()).toBe(base.countParams());
      expect(maxDiff(other.predict(x) as tf.Tensor, want)).toBe(0);
    }
    const back = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(maxDiff(back.predict(x) as tf.Tensor, want)).toBe(0);
    expect(dp.dropPathSummary(back).rows.map((r) => r.rate)).toEqual(dp.dropPathSummary(base).rows.map((r) => r.rate));
  }));

  test("'skip' on tokens: a dropped sample's tokens pass through unchanged, at the block's rate (binomial test)", () => {
    const m = tinyVit({blockType: 'stochasticResidual', dropPathRate: 0.4, depth: 2});
    const layer = m.getLayer('blocks_1_mlp_residual') as dp.StochasticResidual;
    expect(layer.rate).toBe(0.4);
    const n = 600;
    const x = rand([n, 17, 12], 8);
    const y = layer.apply(x, {training: true}) as tf.Tensor;
    const same = tf.all(tf.equal(y.reshape([n, -1]), x.reshape([n, -1])), 1).cast('int32').sum().dataSync()[0] as number;
    expect(binomialTwoSided(same, n, 0.4)).toBeGreaterThan(1e-4);
    const kept = n - same;
    const branch = layer.branch.apply(x) as tf.Tensor;
    // Kept samples: x + branch(x) / keep, the branch computed on them alone.
    const keptRows = tf.tensor1d(Array.from(tf.all(tf.equal(y.reshape([n, -1]), x.reshape([n, -1])), 1).dataSync())
      .flatMap((s, i) => (s ? [] : [i])), 'int32');
    expect(kept).toBe(keptRows.shape[0]);
    const expected = tf.add(tf.gather(x, keptRows), tf.div(tf.gather(branch, keptRows), 0.6));
    expect(maxDiff(tf.gather(y, keptRows), expected)).toBeLessThan(1e-5);
  });

  test('they train (fit, with a scheduler), hold no tensors across steps, prune, and addDropPath finds their blocks', async () => {
    for (const m of [tinyVit({blockType: 'stochasticResidual'}), tinyConvnext()]) {
      const shape = m.inputs[0]!.shape.slice(1) as number[];
      const xs = rand([8, ...shape], 9);
      const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
      m.compile({optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy'});
      const h = await m.fit(xs, ys, {epochs: 2, batchSize: 4, verbose: 0,
        callbacks: [new dp.DropPathScheduler({schedule: dp.timeSchedules.constant(0.3)})]});
      expect(h.history.dropPathRate).toEqual([0.3, 0.3]);
      expect((h.history.loss as number[]).every(Number.isFinite)).toBe(true);
      await m.trainOnBatch(xs, ys);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await m.trainOnBatch(xs, ys);
      expect(tf.memory().numTensors).toBe(before);
      const rows = dp.dropPathSummary(m).rows.length;
      expect(dp.dropPathSummary(dp.pruneBlocks(m, {keep: dp.keepEvery(2)})).rows).toHaveLength(Math.ceil(rows / 2));
    }
    const plain = tinyVit({blockType: 'plain'});
    const {model, blocks} = dp.addDropPath(plain, {rate: 0.1});
    expect(blocks).toHaveLength(6);
    const x = rand([2, 16, 16, 3], 10);
    expect(maxDiff(model.predict(x) as tf.Tensor, plain.predict(x) as tf.Tensor)).toBe(0);
  });

  test('presets by timm name; bad arguments name what was expected', () => {
    const m = dp.vit({preset: 'deit3_small_patch16_224', numClasses: 3, imageSize: 32, depth: 1});
    expect((m.getLayer('pos_embed') as dp.ClassTokenPosition).embedClass).toBe(false);
    expect(m.getLayer('blocks_0_ls1')).toBeInstanceOf(dp.LayerScale);
    expect(m.getLayer('blocks_0_attn').getWeights()[0]!.shape).toEqual([384, 1152]);
    const c = dp.convnext({preset: 'convnext_atto', numClasses: 3, inputShape: [32, 32, 3]});
    expect(dp.dropPathSummary(c).rows).toHaveLength(12);
    expect(Object.keys(dp.VIT_PRESETS)).toContain('deit_tiny_patch16_224');
    expect(Object.keys(dp.CONVNEXT_PRESETS)).toEqual(['convnext_atto', 'convnext_femto', 'convnext_pico', 'convnext_nano', 'convnext_tiny',
      'convnext_small', 'convnext_base']);
    const bad: [() => unknown, RegExp][] = [
      [() => dp.vit({preset: 'deit_tiny_patch16', numClasses: 3}), /preset must be one of .* but received "deit_tiny_patch16" \(did you mean 'deit_tiny_patch16_224'\?\)/],
      [() => dp.vit({numClasses: 3, dim: 12, depth: 1}), /vit: heads is required \(or a preset that gives it\)/],
      [() => dp.vit({numClasses: 3, dim: 12, depth: 1, heads: 5}), /dim 12 must divide by heads 5/],
      [() => dp.vit({numClasses: 3, dim: 12, depth: 1, heads: 3, imageSize: 30}), /imageSize 30 must divide by patchSize 16/],
      [() => dp.vit({numClasses: 3, preset: 'vit_tiny_patch16_224', classToken: false, pool: 'token'}), /pool 'token' needs the class token/],
      [() => dp.vit({numClasses: 3, preset: 'vit_tiny_patch16_224', heads: 3, depths: 2} as never), /unknown key 'depths'.*did you mean 'depth'/],
      [() => dp.convnext({numClasses: 3, depths: [1, 1], dims: [8]}), /dims must be an array of 2 positive integers/],
      [() => dp.convnext({numClasses: 3, preset: 'convnext_atto', inputShape: [48, 48, 3]}), /must divide by 32/],
    ];
    for (const [make, message] of bad) expect(make).toThrow(message);
  });
});

test('file:// round trips (every layer kind, with and without class token) are bit-identical; saveKerasModel refuses naming each layer', () =>
  onBackend('cpu', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdp-vit-'));
    try {
      const models = [
        dp.vit({imageSize: 16, patchSize: 4, dim: 12, depth: 2, heads: 3, numClasses: 4, dropPathRate: 0.2, seed: 1, qkvBias: false,
          layerScale: 0.5, embedClass: false, blockType: 'stochasticResidual', name: 'vit_a'}),
        dp.vit({imageSize: 16, patchSize: 4, dim: 12, depth: 1, heads: 2, numClasses: 4, classToken: false, seed: 2, name: 'vit_b'}),
        dp.convnext({inputShape: [null, null, 3], depths: [1, 1, 1, 1], dims: [4, 8, 8, 8], numClasses: 3, seed: 3, name: 'cnx'}),
      ];
      for (const m of models) {
        const where = `file://${path.join(dir, m.name)}`;
        await m.save(where);
        const back = await tf.loadLayersModel(`${where}/model.json`);
        const x = tf.randomNormal([2, 32, 32, 3].map((d, i) => (i === 1 || i === 2) && m.name.startsWith('vit') ? 16 : d), 0, 1, 'float32', 4);
        expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
      }
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
    await expect(saveKerasModel(dp.vit({imageSize: 16, patchSize: 4, dim: 12, depth: 1, heads: 3, numClasses: 4})))
      .rejects.toThrow(/3 layers cannot:\n {2}'pos_embed' \(ClassTokenPosition\): no Keras 3 layer is known to compute the same function\n {2}'blocks_0_attn' \(MultiHeadSelfAttention\).*\n {2}'pool' \(TokenPool\)/);
  }));
