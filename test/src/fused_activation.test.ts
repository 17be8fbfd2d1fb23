/**
 * ReLU with TensorFlow's `ReluGrad` as its gradient, against tfjs' relu with
 * its own gradient: equal values and gradients, exactly (both are 0/1 masks
 * times dy), including at x = 0, and no leaks.
 */
import {activationTrain} from '../../src/ops/fused_activation';
import {BACKENDS, onBackend, tf} from '../utils/tf';

describe.each(BACKENDS)('activationTrain relu on backend %s', (backend) => {
  test('values and gradients equal tf.relu exactly, including x = 0, ±Inf', () => onBackend(backend, () => {
    const x = tf.concat([tf.tensor1d([0, -0, 1e-30, -1e-30, Infinity, -Infinity]), tf.randomNormal([300], 0, 1, 'float32', 3)]);
    const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 4);
    const r = activationTrain(x, 'relu');
    expect(r.path).toBe(backend === 'tensorflow' ? 'fused' : 'reference');
    expect(Array.from(r.y.dataSync())).toEqual(Array.from(tf.relu(x).dataSync()));
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(activationTrain(t, 'relu').y, dy)))(x);
    const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x);
    expect(Array.from(ours.dataSync())).toEqual(Array.from(want.dataSync()));
  }));

  test('no tensor leaks across repeated forward + backward', () => onBackend(backend, () => {
    const x = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 5);
    const step = () => tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(activationTrain(t, 'relu').y))(x));
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  }));
});
