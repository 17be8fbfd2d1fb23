/**
 * The fast GELU (src/ops/gelu.ts) against tfjs-layers' 'gelu' activation:
 * values and gradients, the switch on a Dense layer (config unchanged, off
 * restores the stock apply), and no leaks.
 */
import {gelu} from '../../src/ops/gelu';
import {setFastGelu} from '../../layers/training_paths';
import {BACKENDS, onBackend, tf} from '../utils/tf';

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);

describe.each(BACKENDS)('fast GELU on backend %s', (backend) => {
  test('values bit-identical to the stock activation, gradients equal (x from −8 to 8, and random)', () => onBackend(backend, () => {
    const stock = tf.layers.dense({units: 3, activation: 'gelu'});
    stock.apply(tf.input({shape: [2]}));
    const stockGelu = (stock as unknown as {activation: {apply: (x: tf.Tensor) => tf.Tensor}}).activation;
    const x = tf.concat([tf.linspace(-8, 8, 161), tf.randomNormal([500], 0, 2, 'float32', 3)]);
    const dy = tf.randomNormal(x.shape, 0, 1, 'float32', 4);
    expect(maxDiff(gelu(x), stockGelu.apply(x))).toBe(0); // the same ops forward
    const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), dy)))(x);
    const want = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(stockGelu.apply(t), dy)))(x);
    expect(maxDiff(ours, want)).toBeLessThan(1e-5);
  }));

  test('on a Dense layer: switched on, the same outputs, the config still says gelu; switched off, the stock apply again', () =>
    onBackend(backend, () => {
      const layer = tf.layers.dense({units: 4, activation: 'gelu', kernelInitializer: tf.initializers.glorotUniform({seed: 1})});
      const x = tf.randomNormal([5, 3], 0, 1, 'float32', 2);
      const before = layer.apply(x) as tf.Tensor;
      const act = (layer as unknown as {activation: {apply: unknown}}).activation;
      const stockApply = act.apply;
      setFastGelu(layer, true);
      expect(act.apply).not.toBe(stockApply);
      expect(maxDiff(layer.apply(x) as tf.Tensor, before)).toBe(0);
      expect(layer.getConfig().activation).toBe('gelu');
      setFastGelu(layer, false);
      expect(act.apply).toBe(stockApply);
      // Other activations are left alone.
      const relu = tf.layers.dense({units: 2, activation: 'relu'});
      setFastGelu(relu, true);
      expect(Object.prototype.hasOwnProperty.call((relu as unknown as {activation: object}).activation, 'apply')).toBe(false);
    }));

  test('no tensor leaks across repeated forward + backward', () => onBackend(backend, () => {
    const x = tf.randomNormal([64], 0, 1, 'float32', 5);
    const step = () => tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x));
    step();
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(n);
  }));
});
