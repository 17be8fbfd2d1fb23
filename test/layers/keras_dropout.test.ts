/**
 * KerasDropout: Keras 3's Dropout where tfjs' differs — a new mask every
 * training call also when seeded (tfjs' seeded Dropout repeats one), zeros at
 * rate 1, exact zeros where NaN or ±Inf is dropped — with the noise shapes of
 * the spatial dropouts, drop counts within an exact binomial bound, errors,
 * serialization and no leaks. FixedDropout computes the same.
 */
import {FixedDropout, KerasDropout} from '../../index';
import {binomialTwoSided} from '../utils/stats';
import {roundTrip} from '../utils/io';
import {tf} from '../utils/tf';

/** A layer's output (apply's result type is wider: a symbolic tensor never arrives here) as numbers. */
const values = (t: unknown) => Array.from((t as tf.Tensor).dataSync());
const ALPHA = 1e-4;

test('seeded: a new mask on every training call (tfjs\' seeded Dropout repeats one), the same sequence for the same seed', () => {
  const x = tf.ones([1, 64]);
  const masks = (layer: tf.layers.Layer) => [0, 1, 2].map(() => values(layer.apply(x, {training: true})).join());
  const stock = masks(tf.layers.dropout({rate: 0.5, seed: 3}));
  expect(new Set(stock).size).toBe(1); // the tfjs behaviour this layer exists to avoid
  const a = masks(new KerasDropout({rate: 0.5, seed: 3}));
  expect(new Set(a).size).toBe(3);
  expect(masks(new KerasDropout({rate: 0.5, seed: 3}))).toEqual(a);
  expect(masks(new KerasDropout({rate: 0.5, seed: 4}))).not.toEqual(a);
  // Unseeded: fresh draws too.
  expect(new Set(masks(new KerasDropout({rate: 0.5}))).size).toBe(3);
  // FixedDropout is the same computation under its own class name.
  expect(masks(new FixedDropout({rate: 0.5, seed: 3}))).toEqual(a);
});

test('training drops each entry with probability rate (exact binomial bound) and scales the kept by 1/(1 − rate)', () => {
  for (const rate of [0.1, 0.3, 0.8]) {
    const layer = new KerasDropout({rate, seed: 11});
    const n = 20 * 500;
    let dropped = 0;
    for (let call = 0; call < 20; call++) {
      const out = values(layer.apply(tf.ones([10, 50]), {training: true}));
      for (const v of out) {
        if (v === 0) dropped++;
        else expect(v).toBeCloseTo(1 / (1 - rate), 5);
      }
    }
    expect(binomialTwoSided(dropped, n, rate)).toBeGreaterThan(ALPHA);
  }
});

test('inference and rate 0 pass the input through; rate 1 gives zeros in training (tfjs\' Dropout passes it through)', () => {
  const x = tf.tensor2d([[1, -2, 3]]);
  expect(values(new KerasDropout({rate: 0.5, seed: 1}).apply(x))).toEqual([1, -2, 3]);
  expect(values(new KerasDropout({rate: 0}).apply(x, {training: true}))).toEqual([1, -2, 3]);
  expect(values(new KerasDropout({rate: 1}).apply(x, {training: true}))).toEqual([0, 0, 0]);
  expect(values(tf.layers.dropout({rate: 1}).apply(x, {training: true}))).toEqual([1, -2, 3]);
});

test('a dropped entry is exactly 0 whatever it holds; its gradient is exactly 0', () => {
  const layer = new KerasDropout({rate: 0.5, seed: 5});
  const x = tf.fill([4, 32], NaN);
  const out = values(layer.apply(x, {training: true}));
  const zeros = out.filter((v) => v === 0).length;
  expect(zeros).toBeGreaterThan(0);
  expect(zeros + out.filter((v) => Number.isNaN(v)).length).toBe(out.length);
  // The gradient of sum(dropout(x)): 0 where dropped, 2 where kept (the same seed's mask again).
  const again = new KerasDropout({rate: 0.5, seed: 5});
  const g = values(tf.grad((t: tf.Tensor) => (again.apply(t, {training: true}) as tf.Tensor).sum())(tf.ones([4, 32])));
  expect(g.map((v) => (v === 0 ? 0 : 1))).toEqual(out.map((v) => (v === 0 ? 0 : 1)));
  expect(new Set(g)).toEqual(new Set([0, 2]));
});

test('noise shape: SpatialDropout2D\'s [null, 1, 1, null] drops whole channels of a sample; a channels-first one whole maps', () => {
  const last = values(new KerasDropout({rate: 0.5, noiseShape: [null, 1, 1, null], seed: 2}).apply(tf.ones([3, 4, 5, 6]), {training: true}));
  for (let b = 0; b < 3; b++) {
    for (let c = 0; c < 6; c++) {
      const cell = new Set<number>();
      for (let i = 0; i < 20; i++) cell.add(last[b * 120 + i * 6 + c] as number);
      expect(cell.size).toBe(1);
    }
  }
  expect(new Set(last)).toEqual(new Set([0, 2]));
  const first = values(new KerasDropout({rate: 0.5, noiseShape: [null, null, 1, 1], seed: 2}).apply(tf.ones([2, 3, 4, 4]), {training: true}));
  for (let m = 0; m < 6; m++) expect(new Set(first.slice(16 * m, 16 * m + 16)).size).toBe(1);
});

test('bad arguments are refused, naming what was expected and what arrived', () => {
  expect(() => new KerasDropout({rate: 1.5})).toThrow('KerasDropout: rate must be a finite number in [0, 1] (the probability of dropping an entry), but received 1.5.');
  expect(() => new KerasDropout({rate: 0.1, noiseShape: [null, 0]})).toThrow('noiseShape must be an array of positive integers and nulls (or null), but received [null,0].');
  expect(() => new KerasDropout({rate: 0.1, seed: 1.5})).toThrow('KerasDropout: seed must be an integer (or undefined for no seed), but received 1.5.');
  expect(() => new KerasDropout({rate: 0.1, noise: [1]} as never)).toThrow(/KerasDropout\(args\).*noise/);
  const layer = new KerasDropout({rate: 0.1, noiseShape: [null, 1, 1, null], name: 'sd'});
  expect(() => layer.apply(tf.ones([2, 3]), {training: true})).toThrow("KerasDropout 'sd': noiseShape [null,1,1,null] has 4 axes, but the input has 2 (shape [2, 3]).");
  expect(() => new KerasDropout({rate: 0.1, noiseShape: [null, 4], name: 'k'}).apply(tf.ones([2, 3]), {training: true}))
    .toThrow("KerasDropout 'k': noiseShape [null,4] does not broadcast to the input's shape [2, 3] (axis 1: 4 against 3).");
  expect(() => { layer.rate = -1; }).toThrow("KerasDropout 'sd': rate must be a finite number in [0, 1]");
  layer.rate = 0.4;
  expect(layer.rate).toBe(0.4);
});

test('saved and loaded through tf.io with its rate, noise shape and seed; the loaded layer draws the saved one\'s sequence', async () => {
  const model = tf.sequential({layers: [tf.layers.dense({units: 8, inputShape: [4], kernelInitializer: 'ones'}),
    new KerasDropout({rate: 0.25, noiseShape: [null, 1], seed: 9, name: 'kd'})]});
  const loaded = await roundTrip(model);
  const layer = loaded.getLayer('kd') as KerasDropout;
  expect(layer).toBeInstanceOf(KerasDropout);
  expect(layer.getConfig()).toMatchObject({rate: 0.25, noiseShape: [null, 1], seed: 9});
  const x = tf.ones([16, 4]);
  const run = (m: tf.LayersModel) => [0, 1].map(() => values(m.apply(x, {training: true}) as tf.Tensor).join());
  expect(run(loaded)).toEqual(run(model));
});

test('no tensor is left behind by training or inference calls', () => {
  const layer = new KerasDropout({rate: 0.3, seed: 1});
  const x = tf.ones([8, 8]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    for (const training of [true, false]) tf.dispose(layer.apply(x, {training}) as tf.Tensor);
    tf.dispose(new KerasDropout({rate: 1}).apply(x, {training: true}) as tf.Tensor);
  }
  expect(tf.memory().numTensors).toBe(before);
});
