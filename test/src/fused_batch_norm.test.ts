/**
 * Training-mode batch normalization: the fused tfjs-node path (one
 * FusedBatchNormV3 forward, one FusedBatchNormGradV3 backward) against the
 * tf.moments + tf.batchNorm reference, on values, gradients and statistics.
 */
import {batchNormTrain} from '../../src/ops/fused_batch_norm';
import {BACKENDS, onBackend, tf} from '../utils/tf';

const EPS = 1e-3;
const maxRel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() =>
  tf.max(tf.div(tf.abs(tf.sub(a, b)), tf.add(tf.abs(b), 1))).dataSync()[0] as number);

/** The reference: tfjs' own ops, differentiated by tfjs. */
function referenceLoss(x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, dy: tf.Tensor) {
  const {mean, variance} = tf.moments(x, [0, 1, 2]);
  return tf.sum(tf.mul(tf.batchNorm(x, mean, variance, b, g, EPS), dy)) as tf.Scalar;
}

describe.each(BACKENDS)('batchNormTrain on backend %s', (backend) => {
  // The benchmark's size on tfjs-node; the pure-JS backend takes seconds per op at that size.
  const shapes = backend === 'tensorflow' ? [[8, 4, 4, 3], [32, 16, 16, 64], [3, 5, 7, 2]] : [[8, 4, 4, 3], [3, 5, 7, 2]];
  test.each(shapes.map((s) => [s]))('shape %j: outputs, statistics and gradients equal the reference', (shape) =>
    onBackend(backend, () => {
      const x = tf.randomNormal(shape, 1, 2, 'float32', 1);
      const c = shape[3] as number;
      const g = tf.randomNormal([c], 1, 0.1, 'float32', 2) as tf.Tensor1D;
      const b = tf.randomNormal([c], 0, 0.1, 'float32', 3) as tf.Tensor1D;
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const r = batchNormTrain(x, g, b, EPS);
      expect(r.path).toBe(backend === 'tensorflow' ? 'fused' : 'reference');
      const {mean, variance} = tf.moments(x, [0, 1, 2]);
      expect(maxRel(r.y, tf.batchNorm(x, mean, variance, b, g, EPS))).toBeLessThan(1e-4);
      expect(maxRel(r.mean, mean)).toBeLessThan(1e-5);
      expect(maxRel(r.variance, variance)).toBeLessThan(1e-5); // biased, as tfjs-layers' moving variance uses
      const ours = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTrain(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, EPS).y, dy)) as tf.Scalar)([x, g, b]);
      const want = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        referenceLoss(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, dy))([x, g, b]);
      ours.forEach((o, i) => expect(maxRel(o, want[i] as tf.Tensor)).toBeLessThan(1e-3));
    }));

  // [1, 1, 1, 3]: one value per channel, where the kernel's unbiased variance would divide by 0 (the rule is written out).
  const movingCases = [[[8, 4, 4, 3], 0.99], [[3, 5, 7, 2], 0], [[1, 1, 1, 3], 0.99],
    ...(backend === 'tensorflow' ? [[[32, 16, 16, 64], 0.9]] : [])] as [number[], number][];
  test.each(movingCases)(
    'shape %j, momentum %f: the moving statistics follow tfjs-layers\' rule v − (v − batch)·(1 − momentum)', (shape, momentum) =>
      onBackend(backend, () => {
        const x = tf.randomNormal(shape, 1, 2, 'float32', 6);
        const c = shape[3] as number;
        const g = tf.ones([c]) as tf.Tensor1D;
        const b = tf.zeros([c]) as tf.Tensor1D;
        const mean = tf.randomNormal([c], 0, 1, 'float32', 7) as tf.Tensor1D;
        const variance = tf.randomUniform([c], 0.5, 2, 'float32', 8) as tf.Tensor1D;
        const r = batchNormTrain(x, g, b, EPS, {mean, variance, momentum});
        const batch = tf.moments(x, [0, 1, 2]);
        const rule = (v: tf.Tensor, s: tf.Tensor) => tf.sub(v, tf.mul(tf.sub(v, s), 1 - momentum));
        expect(maxRel(r.movingMean as tf.Tensor, rule(mean, batch.mean))).toBeLessThan(1e-6);
        expect(maxRel(r.movingVariance as tf.Tensor, rule(variance, batch.variance))).toBeLessThan(1e-6);
        // The batch statistics are still the batch's, and y is unchanged by the moving inputs.
        expect(maxRel(r.mean, batch.mean)).toBeLessThan(1e-5);
        expect(maxRel(r.variance, batch.variance)).toBeLessThan(1e-5);
        expect(maxRel(r.y, batchNormTrain(x, g, b, EPS).y)).toBe(0);
      }));

  test('no tensor leaks across repeated forward + backward', () => onBackend(backend, () => {
    const x = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 5);
    const g = tf.ones([2]) as tf.Tensor1D;
    const b = tf.zeros([2]) as tf.Tensor1D;
    const step = () => {
      const r = batchNormTrain(x, g, b, EPS);
      const m = batchNormTrain(x, g, b, EPS, {mean: r.mean, variance: r.variance, momentum: 0.9});
      tf.dispose([r.y, r.mean, r.variance, m.y, m.mean, m.variance, m.movingMean as tf.Tensor, m.movingVariance as tf.Tensor]);
      const grads = tf.grads((xx: tf.Tensor) => tf.sum(batchNormTrain(xx, g, b, EPS).y) as tf.Scalar)([x]);
      tf.dispose(grads);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  }));
});
