/**
 * Statistical checks of the drop decisions, with fixed seeds: the number of
 * dropped samples (or calls) must pass an exact two-sided binomial test at
 * significance ALPHA, and the output mean must match the input mean within a
 * bound derived from the output's variance.
 */
import {layers as dpLayers, dropPath} from '../../index';
import {binomialPmf, binomialTwoSided} from '../utils/stats';
import {BACKENDS, onBackend, tf, zeroRows} from '../utils/tf';

const ALPHA = 1e-3;
const SEEDS = [1, 2, 3];

test('the binomial test itself: sums to 1, rejects a wrong rate, accepts the right one', () => {
  let total = 0;
  for (let k = 0; k <= 50; k++) total += binomialPmf(k, 50, 0.3);
  expect(total).toBeCloseTo(1, 10);
  expect(binomialTwoSided(500, 1000, 0.5)).toBeCloseTo(1, 6);
  expect(binomialTwoSided(900, 1000, 0.1)).toBeLessThan(1e-12); // the blog's rate/keep swap
  expect(binomialTwoSided(60, 100, 0.5)).toBeCloseTo(0.0569, 3); // textbook value
});

describe.each(BACKENDS.flatMap((b) => [0.1, 0.5, 0.9].map((r) => [b, r] as const)))('backend %s, rate %f', (backend, rate) => {
  beforeAll(() => tf.setBackend(backend));
  afterAll(() => tf.setBackend('tensorflow'));

  test.each(SEEDS)("'row': dropped samples per call ~ Binomial(N, rate), seed %i", (seed) => {
    const n = 4000;
    const layer = dpLayers.dropPath({rate, seed});
    const dropped = zeroRows(layer.apply(tf.ones([n, 2]), {training: true}) as tf.Tensor)
      .filter((d) => d).length;
    expect(binomialTwoSided(dropped, n, rate)).toBeGreaterThan(ALPHA);
  });

  test.each(SEEDS)("'batch': dropped calls ~ Binomial(calls, rate), seed %i", (seed) => {
    const calls = 400;
    const layer = dpLayers.dropPath({rate, seed, mode: 'batch'});
    const x = tf.ones([4, 2]);
    let dropped = 0;
    for (let i = 0; i < calls; i++) {
      tf.tidy(() => {
        const rows = zeroRows(layer.apply(x, {training: true}) as tf.Tensor);
        if (rows.every((d) => d)) dropped++;
      });
    }
    expect(binomialTwoSided(dropped, calls, rate)).toBeGreaterThan(ALPHA);
  });

  test.each(SEEDS)('unbiased: mean output matches the input within 4 standard errors, seed %i', (seed) => {
    // Each sample's output is c/keep with probability keep, else 0: variance
    // c^2 * rate / keep, so the mean of N samples has SE c * sqrt(rate / (keep N)).
    const n = 4000;
    const c = 3;
    const y = dropPath(tf.fill([n, 1], c), rate, {seed});
    const mean = tf.mean(y).dataSync()[0] as number;
    const se = c * Math.sqrt(rate / ((1 - rate) * n));
    expect(Math.abs(mean - c)).toBeLessThan(4 * se);
  });
});

test.each(BACKENDS)('blog bugs 1 and 2 (backend %s): rate 0.1 drops about 10% of samples, not 90%', (backend) => onBackend(backend, () => {
  const n = 4000;
  const dropped = zeroRows(dropPath(tf.ones([n, 1]), 0.1, {seed: 10})).filter((d) => d).length;
  expect(binomialTwoSided(dropped, n, 0.1)).toBeGreaterThan(ALPHA);
  expect(binomialTwoSided(dropped, n, 0.9)).toBeLessThan(1e-12);
}));
