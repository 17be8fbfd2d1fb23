/**
 * Layer normalization's core on tfjs-node (one FusedBatchNormV3 in NCHW form
 * each way) and elsewhere (moments and broadcasting): values and input
 * gradients against the written-out form, with many row counts in one
 * gradient (more than the kernel constants' cache keeps), and no leaks.
 */
import {layerNormalize} from '../../src/ops/fused_layer_norm';
import {BACKENDS, onBackend, tf} from '../utils/tf';

const EPS = 1e-6;

function written(x: tf.Tensor) {
  const {mean, variance} = tf.moments(x, -1, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS)));
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

describe.each(BACKENDS)('layerNormalize on backend %s', (backend) => {
  test('12 row counts in one gradient: values and input gradients equal the written-out form', () => onBackend(backend, () => {
    // 12 sizes > the 8 kept: the constants of the first are dropped before its backward pass runs.
    const xs = Array.from({length: 12}, (_, i) => tf.randomNormal([i + 1, 5, 6], 0.5, 2, 'float32', i));
    const dys = xs.map((x, i) => tf.randomNormal(x.shape, 0, 1, 'float32', 100 + i));
    const loss = (norm: (x: tf.Tensor) => tf.Tensor) => (...ts: tf.Tensor[]) =>
      tf.addN(ts.map((t, i) => tf.sum(tf.mul(norm(t), dys[i] as tf.Tensor)))) as tf.Scalar;
    const ours = tf.grads(loss((t) => layerNormalize(t, EPS).y))(xs);
    const want = tf.grads(loss(written))(xs);
    expect(layerNormalize(xs[0] as tf.Tensor, EPS).path).toBe(backend === 'tensorflow' ? 'fused' : 'reference');
    xs.forEach((x, i) => {
      expect(maxDiff(layerNormalize(x, EPS).y, written(x))).toBeLessThan(1e-5);
      expect(maxDiff(ours[i] as tf.Tensor, want[i] as tf.Tensor)).toBeLessThan(1e-4);
    });
  }));

  test('no tensor leaks across repeated forward + backward', () => onBackend(backend, () => {
    const x = tf.randomNormal([4, 3, 8], 0, 1, 'float32', 5);
    const step = () => tf.dispose(tf.grads((t: tf.Tensor) => tf.sum(tf.square(layerNormalize(t, EPS).y)) as tf.Scalar)([x]));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  }));
});
