import {tf, zeroRows} from './tf';

/**
 * A pass-through layer that records, for every call, the training flag it
 * received and which rows of its input were all zero.
 */
export class Probe extends tf.layers.Layer {
  static className = 'TestProbe';
  readonly calls: {training: unknown; zeroRows: boolean[]; values: Float32Array}[] = [];

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: {training?: unknown}): tf.Tensor {
    const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
    this.calls.push({training: kwargs.training, zeroRows: zeroRows(x), values: x.dataSync() as Float32Array});
    return tf.clone(x);
  }
}
