import {DropPath, DropPathScheduler, KerasDropout, StochasticResidual, dropPathSummary, layers as dpLayers, resnet, schedules, timeSchedules}
  from '../../index';
import seedrandom from 'seedrandom';

import {binomialTwoSided} from '../utils/stats';
import {tf} from '../utils/tf';

describe('time schedules: golden values per epoch', () => {
  const at = (f: (t: number, b: number) => number, ts: number[]) => ts.map((t) => f(t, 0));
  test.each([
    ['constant(0.2)', timeSchedules.constant(0.2), [0, 1, 5], [0.2, 0.2, 0.2]],
    ['linearWarmup(0.4, 4)', timeSchedules.linearWarmup(0.4, 4), [0, 1, 2, 4, 9], [0, 0.1, 0.2, 0.4, 0.4]],
    ['early(0.3, 2)', timeSchedules.early(0.3, 2), [0, 1, 1.99, 2, 5], [0.3, 0.3, 0.3, 0, 0]],
    ['late(0.3, 2)', timeSchedules.late(0.3, 2), [0, 1, 2, 5], [0, 0, 0.3, 0.3]],
  ] as const)('%s', (_n, f, ts, expected) => {
    at(f, [...ts]).forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 12));
  });

  test.each([
    [() => timeSchedules.early(1.5, 2), /timeSchedules\.early: rate must be a finite number in \[0, 1\].*1\.5/],
    [() => timeSchedules.late(0.1, 0), /timeSchedules\.late: epochs must be a positive number, but received 0/],
    [() => timeSchedules.linearWarmup(0.1, NaN), /epochs must be a positive number, but received NaN/],
  ])('bad input %#', (fn, message) => expect(fn).toThrow(message));
});

describe('DropPathScheduler inside model.fit (tfjs-node)', () => {
  const xs = tf.randomUniform([16, 8, 8, 1], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.tensor1d(Array.from({length: 16}, (_, i) => i % 2), 'int32'), 2);
  const build = (dropPathRate: number, blockType: 'dropPath' | 'stochasticResidual' = 'dropPath') => {
    const m = resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 2}, {filters: 8, blocks: 2}],
      dropPathRate, blockType, seed: 1});
    m.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
    return m;
  };
  const rates = (m: tf.LayersModel) => dropPathSummary(m).rows.map((r) => r.activeRate);
  const ownRates = (m: tf.LayersModel) => dropPathSummary(m).rows.map((r) => r.rate);

  /** Records every drop layer's rate at each epoch's first batch. */
  function recorder(m: tf.LayersModel) {
    const seen: number[][] = [];
    const cb = new tf.CustomCallback({onBatchBegin: async (batch) => { if (batch === 0) seen.push(rates(m)); }});
    return {cb, seen};
  }

  test.each([
    ['early(0.4, 2)', timeSchedules.early(0.4, 2), [0.4, 0.4, 0, 0]],
    ['late(0.4, 2)', timeSchedules.late(0.4, 2), [0, 0, 0.4, 0.4]],
    ['linearWarmup(0.4, 2)', timeSchedules.linearWarmup(0.4, 2), [0, 0.2, 0.4, 0.4]],
    ['constant(0.1)', timeSchedules.constant(0.1), [0.1, 0.1, 0.1, 0.1]],
  ] as const)('%s: the deepest layer follows the schedule, the linear profile is kept, history has the rate', async (_n, schedule, deepest) => {
    const m = build(0.5);
    const layersBefore = [...m.layers];
    const optimizer = m.optimizer;
    const {cb, seen} = recorder(m);
    const h = await m.fit(xs, ys, {epochs: 4, batchSize: 8, verbose: 0,
      callbacks: [new DropPathScheduler({schedule}), cb]});
    expect(seen.map((r) => r[3])).toEqual(deepest.map((d) => expect.closeTo(d, 12)));
    for (const r of seen) r.forEach((v, i) => expect(v).toBeCloseTo(schedules.linear(4, r[3] as number)[i] as number, 12));
    expect(h.history.dropPathRate).toEqual(deepest.map((d) => expect.closeTo(d, 12)));
    expect(m.layers).toEqual(layersBefore); // no new layer objects
    expect(m.optimizer).toBe(optimizer); // not recompiled
    expect(rates(m)).toEqual(schedules.linear(4, 0.5)); // the scheduled rates lapse when fit ends
    expect(ownRates(m)).toEqual(schedules.linear(4, 0.5));
  });

  test('layers all built at rate 0 all take the schedule value; per-batch updates are fractional', async () => {
    const m = build(0, 'stochasticResidual');
    const seen: number[][] = [];
    const cb = new tf.CustomCallback({onBatchBegin: async () => { seen.push(rates(m)); }});
    await m.fit(xs, ys, {epochs: 2, batchSize: 8, verbose: 0,
      callbacks: [new DropPathScheduler({schedule: timeSchedules.linearWarmup(0.4, 2), updateEvery: 'batch'}), cb]});
    expect(seen.map((r) => r[0])).toEqual([0, 0.1, 0.2, 0.3].map((v) => expect.closeTo(v, 12)));
    for (const r of seen) expect(new Set(r).size).toBe(1);
  });

  test('reaches layers in nested models and inside StochasticResidual branches', async () => {
    const inner = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4]}), dpLayers.dropPath({rate: 0.2})]});
    const branch = tf.sequential({layers: [tf.layers.dense({units: 4, inputShape: [4]}), dpLayers.dropPath({rate: 0.1})]});
    const input = tf.input({shape: [4]});
    const h = dpLayers.stochasticResidual({branch, rate: 0.4}).apply(inner.apply(input) as tf.SymbolicTensor);
    const m = tf.model({inputs: input, outputs: h as tf.SymbolicTensor});
    m.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    const found: number[][] = [];
    const cb = new tf.CustomCallback({onBatchBegin: async () => { found.push(dropPathSummary(m).rows.map((r) => r.activeRate)); }});
    await m.fit(tf.ones([4, 4]), tf.ones([4, 4]), {epochs: 1, verbose: 0,
      callbacks: [new DropPathScheduler({schedule: timeSchedules.constant(0.8)}), cb]});
    expect(found[0]).toEqual([0.2, 0.4, 0.1].map((v) => expect.closeTo(v * 2, 12))); // depth order
    expect(dropPathSummary(m).rows.map((r) => r.type)).toEqual(['DropPath', 'StochasticResidual', 'DropPath']);
  });

  test('bad schedules and models fail clearly', async () => {
    expect(() => new DropPathScheduler({schedule: 0.1 as never})).toThrow(/schedule must be a function .*received 0\.1/);
    expect(() => new DropPathScheduler({schedule: () => 0, updateEvery: 'step' as never}))
      .toThrow(/updateEvery must be one of 'epoch', 'batch', but received "step"/);
    const m = build(0.2);
    await expect(m.fit(xs, ys, {epochs: 1, verbose: 0, callbacks: [new DropPathScheduler({schedule: () => 2})]}))
      .rejects.toThrow(/the schedule's rate at epoch 0 must be a finite number in \[0, 1\].*received 2/);
    const plain = tf.sequential({layers: [tf.layers.dense({units: 1, inputShape: [2]})]});
    plain.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
    await expect(plain.fit(tf.ones([2, 2]), tf.ones([2, 1]), {epochs: 1, verbose: 0,
      callbacks: [new DropPathScheduler({schedule: () => 0.1})]})).rejects.toThrow(/has no DropPath, StochasticResidual or stochastic-depth Dropout .* to schedule; addDropPath\(model, \{rate\}\) gives it one/);
  });
});

describe('DropPathScheduler: its rates are temporary, whatever happens', () => {
  const xs = tf.randomUniform([16, 8, 8, 1], 0, 1, 'float32', 2);
  const ys = tf.oneHot(tf.tensor1d(Array.from({length: 16}, (_, i) => i % 2), 'int32'), 2);
  const built = schedules.linear(4, 0.5);
  const build = (name?: string) => {
    const m = resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 4}], dropPathRate: 0.5, seed: 3, name});
    m.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
    return m;
  };
  const ownRates = (m: tf.LayersModel) => dropPathSummary(m).rows.map((r) => r.rate);
  const activeRates = (m: tf.LayersModel) => dropPathSummary(m).rows.map((r) => r.activeRate);
  /**
   * The drop rates in the topology that model.save() stores (its toJSON; the
   * weights are left out: under Jest, tfjs-node's trained weights come from
   * another realm than the encoder expects).
   */
  const savedRates = async (m: tf.LayersModel) => {
    const found: number[] = [];
    JSON.stringify(m.toJSON(null, false), (k, v) => { if (k === 'rate' && typeof v === 'number') found.push(v); return v; });
    return found;
  };

  test.each([
    ['a callback throws', () => new tf.CustomCallback({onEpochEnd: async (e) => { if (e === 1) throw new Error('callback failed'); }}),
      () => timeSchedules.constant(0.2), /callback failed/],
    ['the schedule returns NaN', () => new tf.CustomCallback({}), () => (t: number) => (t < 1 ? 0.2 : NaN),
      /the schedule's rate at epoch 1 must be a finite number.*NaN/],
  ] as const)('fit ends by an exception (%s): the model keeps, saves and re-schedules its own rates', async (_w, extra, schedule, message) => {
    const m = build();
    await expect(m.fit(xs, ys, {epochs: 3, batchSize: 8, verbose: 0,
      callbacks: [new DropPathScheduler({schedule: schedule()}), extra()]})).rejects.toThrow(message);
    expect(ownRates(m)).toEqual(built);
    expect(activeRates(m)).toEqual(built); // nothing scheduled lingers into the next training
    expect(await savedRates(m)).toEqual(built);
    // A new scheduler scales from the built profile, not from the last scheduled values.
    const seen: number[][] = [];
    await m.fit(xs, ys, {epochs: 1, batchSize: 8, verbose: 0, callbacks: [
      new DropPathScheduler({schedule: timeSchedules.constant(0.4)}),
      new tf.CustomCallback({onBatchBegin: async () => { seen.push(activeRates(m)); }})]});
    expect(seen[0]).toEqual(schedules.linear(4, 0.4).map((v) => expect.closeTo(v, 12)));
  });

  test('a checkpoint saved during a scheduled fit stores the own rates; a rate the user sets is saved', async () => {
    const m = build();
    const checkpoints: number[][] = [];
    await m.fit(xs, ys, {epochs: 2, batchSize: 8, verbose: 0, callbacks: [
      new DropPathScheduler({schedule: timeSchedules.constant(0.1)}),
      new tf.CustomCallback({onEpochEnd: async (epoch) => {
        expect(activeRates(m)[3]).toBeCloseTo(0.1, 12);
        if (epoch === 1) (m.getLayer('stage1_block4_drop_path') as DropPath).rate = 0.45;
        checkpoints.push(await savedRates(m));
      }})]});
    expect(checkpoints[0]).toEqual(built);
    expect(checkpoints[1]).toEqual([...built.slice(0, 3), 0.45]);
    expect(await savedRates(m)).toEqual([...built.slice(0, 3), 0.45]);
  });

  test('one scheduler given to two fits at once: the second refuses clearly, the first stays scheduled', async () => {
    const a = build('model_a');
    const b = build('model_b');
    const scheduler = new DropPathScheduler({schedule: timeSchedules.constant(0.3)});
    const seenA: number[] = [];
    let second: Promise<unknown> | undefined;
    const fitA = a.fit(xs, ys, {epochs: 2, batchSize: 8, verbose: 0, callbacks: [scheduler, new tf.CustomCallback({
      onBatchBegin: async (batch) => {
        seenA.push(activeRates(a)[3] as number);
        if (batch === 0 && !second) {
          second = b.fit(xs, ys, {epochs: 1, batchSize: 8, verbose: 0, callbacks: [scheduler]}).then(() => 'trained', (e: Error) => e.message);
        }
      }})]});
    await fitA;
    expect(await second).toMatch(/already scheduling model 'model_a', whose fit has not ended; give model 'model_b' its own DropPathScheduler/);
    expect(seenA.every((r) => Math.abs(r - 0.3) < 1e-12)).toBe(true);
    expect(activeRates(b)).toEqual(built);
    // Once the first fit is over, the same scheduler serves the other model.
    await b.fit(xs, ys, {epochs: 1, batchSize: 8, verbose: 0, callbacks: [scheduler]});
    expect(scheduler.currentRate).toBe(0.3);
  });
});

describe('dropPathSummary', () => {
  test('rows, expected depth and a printed table', () => {
    const m = resnet({inputShape: [8, 8, 1], numClasses: 2, stages: [{filters: 8, blocks: 4}], dropPathRate: 0.4,
      blockType: 'stochasticResidual', strategy: 'mask', dropPathMode: 'batch'});
    const lines: string[] = [];
    const s = dropPathSummary(m, {print: (l) => lines.push(l)});
    expect(s.rows.map((r) => r.rate)).toEqual(schedules.linear(4, 0.4));
    expect(s.rows.every((r) => r.type === 'StochasticResidual' && r.mode === 'batch' && r.strategy === 'mask')).toBe(true);
    expect(s.expectedDepth).toBeCloseTo(4 - (0.1 + 0.2 + 0.3 + 0.4), 12);
    expect(lines.join('\n')).toBe(s.text);
    expect(s.text).toMatch(/stage1_block4_residual\s+StochasticResidual\s+batch\s+mask\s+0\.4000/);
    expect(s.text).toMatch(/expected depth: 3\.00 of 4 drop layers/);
    expect(dropPathSummary(m).rows[0]).toBeInstanceOf(Object);
    expect(m.layers.filter((l) => l instanceof StochasticResidual || l instanceof DropPath)).toHaveLength(4);
  });
});

describe.each([
  ["tfjs' Dropout", (rate: number, name: string) => tf.layers.dropout({rate, noiseShape: [null, 1, 1, 1] as unknown as number[], name})],
  ['KerasDropout (seeded)', (rate: number, name: string) => new KerasDropout({rate, noiseShape: [null, 1, 1, 1], seed: 21, name})],
])("DropPathScheduler: Keras' stochastic-depth Dropouts (noise shape [null, 1, 1, 1]) are scheduled too: %s", (_kind, dropout) => {
  /** Two residual blocks whose drops are Keras-style Dropouts, as a loaded EfficientNet has them. */
  const build = () => {
    const input = tf.input({shape: [4, 4, 2]});
    let x: tf.SymbolicTensor = input;
    [0.1, 0.2].forEach((rate, i) => {
      const branch = tf.layers.conv2d({filters: 2, kernelSize: 3, padding: 'same', name: `conv${i}`}).apply(x) as tf.SymbolicTensor;
      const dropped = dropout(rate, `sd${i}`).apply(branch) as tf.SymbolicTensor;
      x = tf.layers.add().apply([x, dropped]) as tf.SymbolicTensor;
    });
    const out = tf.layers.dense({units: 2, activation: 'softmax'}).apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
    const m = tf.model({inputs: input, outputs: out});
    m.compile({optimizer: 'sgd', loss: 'categoricalCrossentropy'});
    return m;
  };
  const xs = tf.randomUniform([16, 4, 4, 2], 0, 1, 'float32', 4);
  const ys = tf.oneHot(tf.tensor1d(Array.from({length: 16}, (_, i) => i % 2), 'int32'), 2);
  const N = 2000;
  /** Samples a training call of the layer drops, out of N (a Dropout's dropped rows are all zero). */
  const dropped = (m: tf.LayersModel, name: string) => tf.tidy(() => {
    const y = m.getLayer(name).apply(tf.ones([N, 1, 1, 1]), {training: true}) as tf.Tensor;
    return tf.sum(tf.equal(y, 0).cast('int32')).dataSync()[0] as number;
  });
  const savedRates = (m: tf.LayersModel) => {
    const found: number[] = [];
    JSON.stringify(m.toJSON(null, false), (k, v) => { if (k === 'rate' && typeof v === 'number') found.push(v); return v; });
    return found;
  };

  test('rates follow the schedule in proportion, the training calls drop at them, the saved rates stay the own ones', async () => {
    // tfjs' unseeded Dropout draws from Math.random: seeded here so that the counts are fixed.
    const random = seedrandom.alea('scheduler-dropout');
    const spy = jest.spyOn(Math, 'random').mockImplementation(() => random());
    try {
      const m = build();
      expect(dropPathSummary(m).rows.map((r) => [r.type, r.rate])).toEqual([['Dropout', 0.1], ['Dropout', 0.2]]);
      const seen: {active: number[]; saved: number[]; drops: number}[] = [];
      await m.fit(xs, ys, {epochs: 2, batchSize: 8, verbose: 0, callbacks: [
        new DropPathScheduler({schedule: (t) => (t < 1 ? 0.6 : 0.4)}),
        new tf.CustomCallback({onBatchBegin: async (batch) => {
          if (batch === 0) {
            seen.push({active: dropPathSummary(m).rows.map((r) => r.activeRate), saved: savedRates(m), drops: dropped(m, 'sd1')});
          }
        }})]});
      expect(seen.map((s) => s.active)).toEqual([[0.3, 0.6], [0.2, 0.4]].map((r) => r.map((v) => expect.closeTo(v, 12))));
      expect(seen.map((s) => s.saved)).toEqual([[0.1, 0.2], [0.1, 0.2]]);
      expect(binomialTwoSided(seen[0]!.drops, N, 0.6)).toBeGreaterThan(1e-4);
      expect(binomialTwoSided(seen[1]!.drops, N, 0.4)).toBeGreaterThan(1e-4);
      // Over: the layers drop at their own rates again, and their configs never changed.
      expect(dropPathSummary(m).rows.map((r) => r.activeRate)).toEqual([0.1, 0.2]);
      expect(binomialTwoSided(dropped(m, 'sd1'), N, 0.2)).toBeGreaterThan(1e-4);
      expect((m.getLayer('sd1').getConfig() as {rate: number}).rate).toBe(0.2);
    } finally {
      spy.mockRestore();
    }
  });
});
