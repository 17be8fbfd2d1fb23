import {DropPath, StochasticResidual, layers as dpLayers} from '../../index';
import {DropDecision} from '../../src/internal/drop_decision';
import {roundTrip} from '../utils/io';
import {Probe} from '../utils/probe';
import {binomialTwoSided} from '../utils/stats';
import {tf, trainingTensorCounts} from '../utils/tf';

type Strategy = 'skip' | 'mask';
let nameCounter = 0;
const uid = (p: string) => `${p}_${++nameCounter}`;

/** A dense branch behind a probe that records the batch size it is given. */
function denseBranch(units = 4, seed = 1) {
  const probe = new Probe({inputShape: [units], name: uid('probe')});
  const branch = tf.sequential({name: uid('dense_branch'), layers: [
    probe,
    tf.layers.dense({units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({seed}), name: uid('fc1')}),
    tf.layers.dense({units, kernelInitializer: tf.initializers.glorotUniform({seed: seed + 1}), name: uid('fc2')}),
  ]});
  return {branch, probe};
}

/** A conv branch, optionally with BatchNormalization. */
function convBranch(channels: number, bn: boolean, seed = 3) {
  const ls: tf.layers.Layer[] = [tf.layers.conv2d({inputShape: [5, 5, channels], filters: channels, kernelSize: 3,
    padding: 'same', kernelInitializer: tf.initializers.glorotUniform({seed}), name: uid('conv')})];
  if (bn) ls.push(tf.layers.batchNormalization({name: uid('bn')}));
  ls.push(tf.layers.activation({activation: 'relu', name: uid('relu')}));
  return tf.sequential({name: uid('conv_branch'), layers: ls});
}

function block(branch: tf.layers.Layer, args: Partial<{rate: number; mode: 'row' | 'batch'; strategy: Strategy; seed: number;
  shortcut: tf.layers.Layer | null}> = {}) {
  return new StochasticResidual({branch, rate: 0.5, seed: 7, name: uid('res'), ...args});
}

/** out and d(sum(out · w))/d(weights) of one training call. */
function outAndGrads(layer: StochasticResidual, x: tf.Tensor, w: tf.Tensor) {
  let out: tf.Tensor | undefined;
  const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const {value, grads} = tf.variableGrads(() => {
    const y = layer.apply(x, {training: true}) as tf.Tensor;
    out = tf.keep(y.clone());
    // + 0·Σweights keeps every weight connected when a call drops the branch.
    return tf.add(tf.sum(tf.mul(y, w)), tf.mul(0, tf.addN(vars.map((v) => tf.sum(v))))) as tf.Scalar;
  }, vars);
  const g = vars.map((v) => Array.from((grads[v.name] as tf.Tensor).dataSync()));
  value.dispose();
  return {out: Array.from((out as tf.Tensor).dataSync()), grads: g};
}

function expectClose(a: number[], b: number[], tol = 1e-5) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number)));
  expect(worst).toBeLessThan(tol);
}

describe('StochasticResidual: symbolic and weights', () => {
  test('output shape, registered className, branch weights owned by the model', () => {
    const {branch} = denseBranch();
    const res = dpLayers.stochasticResidual({branch, rate: 0.2});
    const input = tf.input({shape: [4]});
    const out = res.apply(input) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, 4]);
    expect(res.getClassName()).toBe('StochasticResidual');
    const model = tf.model({inputs: input, outputs: out});
    expect(model.trainableWeights.length).toBe(4);
    expect(model.countParams()).toBe(4 * 8 + 8 + 8 * 4 + 4);
    const lines: string[] = [];
    model.summary(undefined, undefined, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/stochastic_residual.*76/);
  });

  test('a projection shortcut when shapes change; without one, a clear error', () => {
    const branch = tf.sequential({layers: [tf.layers.dense({units: 6, inputShape: [4], name: uid('wide')})]});
    expect(() => dpLayers.stochasticResidual({branch, rate: 0.1}).apply(tf.input({shape: [4]})))
      .toThrow(/branch output shape \[null,6\] must equal the shortcut output shape \[null,4\].*pass a projection/);
    const branch2 = tf.sequential({layers: [tf.layers.dense({units: 6, inputShape: [4], name: uid('wide')})]});
    const shortcut = tf.layers.dense({units: 6, useBias: false, name: uid('proj')});
    const out = dpLayers.stochasticResidual({branch: branch2, shortcut, rate: 0.1}).apply(tf.input({shape: [4]}));
    expect((out as tf.SymbolicTensor).shape).toEqual([null, 6]);
  });

  test('trainable is forwarded to the children', () => {
    const {branch} = denseBranch();
    const res = block(branch);
    res.apply(tf.input({shape: [4]}));
    res.trainable = false;
    expect(branch.trainable).toBe(false);
    expect(res.trainableWeights).toEqual([]);
    expect(res.nonTrainableWeights.length).toBe(4);
    res.trainable = true;
    expect(res.trainableWeights.length).toBe(4);
  });
});

describe('StochasticResidual: what the children own reaches through the wrapper', () => {
  const l2 = () => tf.regularizers.l2({l2: 10});
  /** A nested Sequential whose one dense kernel (4×4 ones) carries l2 = 10: its loss is 160. */
  const regularizedModel = () => tf.sequential({name: uid('reg_branch'), layers: [tf.layers.dense({units: 4, inputShape: [4],
    kernelInitializer: 'ones', kernelRegularizer: l2(), name: uid('reg_fc')})]});
  const regularizedLayer = () => tf.layers.dense({units: 4, kernelInitializer: 'ones', kernelRegularizer: l2(), name: uid('reg_fc')});
  const lossValues = (layer: tf.layers.Layer) => layer.calculateLosses().map((t) => t.dataSync()[0]);

  test.each([['skip', 'model'], ['mask', 'model'], ['skip', 'layer'], ['mask', 'layer']] as const)(
    "'%s', branch and shortcut as a %s: weight regularizers reach calculateLosses and the fit loss", async (strategy, kind) => {
      const make = kind === 'model' ? regularizedModel : regularizedLayer;
      const res = block(make(), {strategy, shortcut: make(), rate: 1});
      const input = tf.input({shape: [4]});
      const model = tf.model({inputs: input, outputs: res.apply(input) as tf.SymbolicTensor});
      // A tfjs Container's own `losses` is empty (it computes its layers' in calculateLosses).
      expect(res.losses.length).toBe(kind === 'layer' ? 2 : 0);
      expect(lossValues(res)).toEqual([160, 160]);
      expect(lossValues(model)).toEqual([160, 160]);
      // rate 1 drops the branch on every step; its regularizer still counts.
      model.compile({optimizer: tf.train.sgd(0), loss: 'meanSquaredError'});
      const x = tf.ones([2, 4]);
      const shortcutOut = res.shortcut!.apply(x) as tf.Tensor;
      const loss = await model.trainOnBatch(x, shortcutOut) as number;
      expect(loss).toBeCloseTo(320, 3);
      tf.dispose([x, shortcutOut]);
    });

  test('updates of nested layers are forwarded', () => {
    const branch = regularizedModel();
    const res = block(branch);
    expect(res.updates).toEqual(branch.updates);
  });
});

describe('StochasticResidual: semantics', () => {
  const x = tf.randomNormal([16, 4], 0, 1, 'float32', 11);

  test('inference is shortcut(x) + branch(x), with no drop and no scaling', () => {
    const {branch} = denseBranch();
    const res = block(branch, {rate: 0.9});
    const y = res.apply(x) as tf.Tensor;
    const expected = tf.add(x, branch.apply(x) as tf.Tensor);
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
  });

  test.each(['skip', 'mask'] as const)("rate 1 ('%s'): the shortcut only, the branch is not run", (strategy) => {
    const {branch, probe} = denseBranch();
    const res = block(branch, {rate: 1, strategy});
    res.apply(tf.input({shape: [4]}));
    const y = res.apply(x, {training: true}) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    expect(probe.calls.length).toBe(0);
  });

  test("'skip' 'row' runs the branch on the kept samples only (the probe sees the kept count)", () => {
    const {branch, probe} = denseBranch();
    const res = block(branch, {rate: 0.5, seed: 21});
    const y = res.apply(x, {training: true}) as tf.Tensor;
    const keep = new DropDecision({rate: 0.5, seed: 21}, () => 'twin').next(16, 0.5).keep;
    const kept = keep.filter((k) => k).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(16);
    expect(probe.calls.map((c) => c.zeroRows.length)).toEqual([kept]);
    expect(probe.calls[0]?.training).toBe(true);
    // Dropped rows are exactly the shortcut.
    const yv = y.arraySync() as number[][];
    const xv = x.arraySync() as number[][];
    keep.forEach((k, i) => { if (!k) expect(yv[i]).toEqual(xv[i]); });
  });

  test("'skip' 'batch' does not run the branch on a call that drops", () => {
    const {branch, probe} = denseBranch();
    const res = block(branch, {rate: 0.5, mode: 'batch', seed: 4});
    const twin = new DropDecision({rate: 0.5, mode: 'batch', seed: 4}, () => 'twin');
    let dropped = 0;
    for (let i = 0; i < 12; i++) {
      const before = probe.calls.length;
      const y = res.apply(x, {training: true}) as tf.Tensor;
      const keep = twin.next(16, 0.5).keep[0];
      expect(probe.calls.length - before).toBe(keep ? 1 : 0);
      if (!keep) {
        dropped++;
        expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
      } else {
        expect(probe.calls[probe.calls.length - 1]?.zeroRows.length).toBe(16);
      }
    }
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(12);
  });

  test('batch size 1 works in both strategies and modes', () => {
    for (const strategy of ['skip', 'mask'] as const) {
      for (const mode of ['row', 'batch'] as const) {
        const res = block(denseBranch().branch, {strategy, mode, rate: 0.5});
        for (let i = 0; i < 6; i++) expect((res.apply(x.slice(0, 1), {training: true}) as tf.Tensor).shape).toEqual([1, 4]);
      }
    }
  });

  test('the rate is writable and validated', () => {
    const res = block(denseBranch().branch, {rate: 0.1});
    res.rate = 0.4;
    expect(res.getConfig().rate).toBe(0.4);
    expect(() => { res.rate = -1; }).toThrow(/StochasticResidual .*rate must be a finite number in \[0, 1\].*received -1/);
  });
});

describe("'skip' against the reference 'mask': same seed, same outputs and weight gradients", () => {
  test.each([
    ['dense branch', 'row', () => denseBranch(4, 5).branch, [16, 4]],
    ['dense branch', 'batch', () => denseBranch(4, 5).branch, [16, 4]],
    ['conv branch', 'row', () => convBranch(3, false), [12, 5, 5, 3]],
  ] as const)('%s, mode %s', (_n, mode, makeBranch, shape) => {
    const x = tf.randomNormal([...shape], 0, 1, 'float32', 2);
    const w = tf.randomNormal([...shape], 0, 1, 'float32', 3);
    const skip = block(makeBranch(), {strategy: 'skip', mode, rate: 0.4, seed: 99});
    const mask = block(makeBranch(), {strategy: 'mask', mode, rate: 0.4, seed: 99});
    skip.apply(x);
    mask.apply(x);
    mask.setWeights(skip.getWeights());
    for (let call = 0; call < 4; call++) { // several calls: the seed streams stay in step
      const a = outAndGrads(skip, x, w);
      const b = outAndGrads(mask, x, w);
      expectClose(a.out, b.out);
      a.grads.forEach((g, i) => expectClose(g, b.grads[i] as number[]));
    }
  });

  test('conv branch with BatchNorm: skip equals the branch run on the kept rows by hand', () => {
    // 'mask' normalizes over the whole batch and 'skip' over the kept rows, so
    // with BatchNorm the reference is the branch applied to x[kept].
    const shape = [12, 5, 5, 3];
    const x = tf.randomNormal(shape, 0, 1, 'float32', 2);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 3);
    const skip = block(convBranch(3, true), {strategy: 'skip', rate: 0.4, seed: 5});
    const refBranch = convBranch(3, true);
    skip.apply(x);
    refBranch.apply(x);
    refBranch.setWeights(skip.getWeights());
    const keep = new DropDecision({rate: 0.4, seed: 5}, () => 'twin').next(12, 0.4).keep;
    const rows = keep.flatMap((k, i) => (k ? [i] : []));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(12);
    const a = outAndGrads(skip, x, w);
    const vars = refBranch.trainableWeights.map((v) => v.read() as tf.Variable);
    let ref: number[] = [];
    const {grads} = tf.variableGrads(() => {
      const yk = tf.mul(refBranch.apply(tf.gather(x, rows), {training: true}) as tf.Tensor, 1 / 0.6);
      // Rows back in place with differentiable ops: row i takes yk[pos(i)], or a zero row.
      const where = keep.map((k, i) => (k ? rows.indexOf(i) : rows.length));
      const padded = tf.concat([yk, tf.zeros([1, ...shape.slice(1)])]);
      const y = tf.add(x, tf.gather(padded, tf.tensor1d(where, 'int32')));
      ref = Array.from(y.dataSync());
      return tf.sum(tf.mul(y, w)) as tf.Scalar;
    }, vars);
    expectClose(a.out, ref);
    vars.forEach((v, i) => expectClose(a.grads[i] as number[], Array.from((grads[v.name] as tf.Tensor).dataSync())));
  });
});

describe('StochasticResidual: drop frequencies (binomial, fixed seeds)', () => {
  test.each([
    [0.1, 'row'], [0.5, 'row'], [0.9, 'row'], [0.1, 'batch'], [0.5, 'batch'], [0.9, 'batch'],
  ] as const)('rate %f, mode %s', (rate, mode) => {
    const {branch, probe} = denseBranch();
    const res = block(branch, {rate, mode, seed: 1234});
    const x = tf.ones([50, 4]);
    const calls = 60;
    for (let i = 0; i < calls; i++) tf.tidy(() => { res.apply(x, {training: true}); });
    const ran = probe.calls.reduce((s, c) => s + c.zeroRows.length, 0); // samples the branch saw
    const trials = mode === 'row' ? calls * 50 : calls;
    const kept = mode === 'row' ? ran : probe.calls.length;
    expect(binomialTwoSided(trials - kept, trials, rate)).toBeGreaterThan(1e-3);
  });
});

describe('StochasticResidual in models (tfjs-node)', () => {
  function model(strategy: Strategy) {
    const input = tf.input({shape: [5, 5, 3]});
    let h = input as tf.SymbolicTensor;
    for (let i = 0; i < 2; i++) {
      h = dpLayers.stochasticResidual({branch: convBranch(3, true, 10 + i), rate: 0.3, strategy, seed: i,
        name: uid('block')}).apply(h) as tf.SymbolicTensor;
    }
    const pooled = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({units: 2, activation: 'softmax'}).apply(pooled) as tf.SymbolicTensor;
    const m = tf.model({inputs: input, outputs: out});
    m.compile({optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy'});
    return m;
  }
  const xs = tf.randomNormal([32, 5, 5, 3], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.tensor1d(Array.from({length: 32}, (_, i) => i % 2), 'int32'), 2);

  test.each(['skip', 'mask'] as const)("'%s': fit trains, BatchNorm in the branch updates its moving statistics", async (strategy) => {
    const m = model(strategy);
    const bn = m.layers.flatMap((l) => (l instanceof StochasticResidual ? (l.branch as tf.Sequential).layers : []))
      .find((l) => l.getClassName() === 'BatchNormalization') as tf.layers.Layer;
    const before = Array.from(bn.getWeights()[2]?.dataSync() ?? []); // moving mean
    const h = await m.fit(xs, ys, {epochs: 3, batchSize: 16, verbose: 0});
    expect(h.history.loss?.every((v) => Number.isFinite(v as number))).toBe(true);
    expect(Array.from(bn.getWeights()[2]?.dataSync() ?? [])).not.toEqual(before);
  });

  test('no tensor leaks across repeated fit / predict / evaluate', async () => {
    const m = model('skip');
    const counts = await trainingTensorCounts(m, xs, ys, 8);
    expect(new Set(counts).size).toBe(1);
  });

  test('save → load: nested branch and shortcut round-trip, identical predictions, the loaded model trains', async () => {
    const input = tf.input({shape: [4]});
    const shortcut = tf.layers.dense({units: 6, useBias: false, name: uid('proj')});
    const branch = tf.sequential({name: uid('seq'), layers: [
      tf.layers.dense({units: 6, inputShape: [4], activation: 'relu', name: uid('b1')}),
      tf.layers.dense({units: 6, name: uid('b2')}),
    ]});
    const res = dpLayers.stochasticResidual({branch, shortcut, rate: 0.25, mode: 'batch', strategy: 'mask', seed: 8, name: uid('sr')});
    const h = res.apply(input) as tf.SymbolicTensor;
    const drop = new DropPath({rate: 0.1, name: uid('dp')}).apply(h) as tf.SymbolicTensor;
    const m = tf.model({inputs: input, outputs: drop});
    const loaded = await roundTrip(m);
    const x = tf.randomNormal([5, 4], 0, 1, 'float32', 9);
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
    const lr = loaded.layers.find((l) => l instanceof StochasticResidual) as StochasticResidual;
    expect(lr.getConfig()).toMatchObject({rate: 0.25, mode: 'batch', strategy: 'mask', seed: 8, scaleByKeep: true});
    expect(lr.branch.getClassName()).toBe('Sequential');
    expect(lr.shortcut?.name).toBe(shortcut.name);
    loaded.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    const before = Array.from((loaded.predict(x) as tf.Tensor).dataSync());
    await loaded.fit(x, tf.zeros([5, 6]), {epochs: 2, verbose: 0});
    expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).not.toEqual(before);
  });
});

describe('StochasticResidual: bad input', () => {
  test.each([
    [{rate: 0.1}, /branch must be a tf\.layers\.Layer or a LayersModel, but received undefined/],
    [{rate: 0.1, branch: 'dense'}, /branch must be .* but received "dense"/],
    [{rate: 2, branch: 'ok'}, /rate must be a finite number in \[0, 1\].*received 2/],
    [{rate: 0.1, branch: 'ok', strategy: 'drop'}, /strategy must be one of 'skip', 'mask', but received "drop"/],
    [{rate: 0.1, branch: 'ok', mode: 'sample'}, /mode must be one of 'row', 'batch', but received "sample"/],
    [{rate: 0.1, branch: 'ok', shortcut: 3}, /shortcut must be a tf\.layers\.Layer, a LayersModel or null/],
  ])('%#: %j', (args, message) => {
    const a = {...args} as Record<string, unknown>;
    if (a.branch === 'ok') a.branch = tf.layers.dense({units: 4});
    expect(() => dpLayers.stochasticResidual(a as never)).toThrow(message);
  });

  test('duplicate layer names in branch and shortcut are refused before they break loading', () => {
    const branch = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4], name: 'same_name'})]});
    const shortcut = tf.layers.dense({units: 4, name: 'same_name'});
    expect(() => dpLayers.stochasticResidual({branch, shortcut, rate: 0.1}))
      .toThrow(/distinct layer names .* 'same_name' appears twice/);
  });
});
