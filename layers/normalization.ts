/**
 * Keras' `Normalization` (the preprocessing layer keras.applications
 * EfficientNet and ConvNeXt start with), in inference form, for models read
 * from Keras files: args, class and registration together.
 */
import {div, maximum, reshape, serialization, sqrt, sub, tidy} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {initializers, layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable, Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {exactlyOne} from '../src/internal/tensors';
import {checkKeys, TFJS_LAYER_ARGS} from '../src/internal/validate';

export interface NormalizationArgs extends LayerArgs {
  /** The axis (or axes) holding separate statistics. Keras' default -1. */
  axis?: number | number[] | null;
  /** Per-feature mean; with `variance`, fixed in the config. Without them the layer holds them as weights. */
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  /** Keras' `invert` (de-normalize) is not read: it must be false. */
  invert?: boolean;
}

/**
 * Keras' `Normalization` in inference form: `(x − mean) / max(√variance, 1e-7)`
 * with per-channel statistics on the last axis. (Keras' `adapt` is not
 * provided: statistics come from the config or from loaded weights.)
 */
export class Normalization extends layers.Layer {
  static className = 'Normalization';
  readonly axis: number[];
  readonly meanValues: number[] | null;
  readonly varianceValues: number[] | null;
  private meanWeight: LayerVariable | null = null;
  private varianceWeight: LayerVariable | null = null;

  constructor(args: NormalizationArgs = {}) {
    checkKeys(args, ['axis', 'mean', 'variance', 'invert', ...TFJS_LAYER_ARGS], 'Normalization(args)');
    super(args);
    const axis = args.axis === undefined || args.axis === null ? [-1] : Array.isArray(args.axis) ? args.axis : [args.axis];
    if (axis.length !== 1 || !Number.isInteger(axis[0])) {
      throw new Error(`Normalization: only per-channel statistics on one axis, the last, are supported, but received axis ${JSON.stringify(args.axis)}.`);
    }
    if (args.invert === true) throw new Error('Normalization: invert: true (de-normalization) is not supported.');
    const list = (v: number | number[] | null | undefined) => (v === undefined || v === null ? null : Array.isArray(v) ? v : [v]);
    this.axis = axis;
    this.meanValues = list(args.mean);
    this.varianceValues = list(args.variance);
    if ((this.meanValues === null) !== (this.varianceValues === null)) {
      throw new Error('Normalization: give both mean and variance, or neither (then they are weights).');
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const axis = this.axis[0] as number;
    if (axis !== -1 && axis !== shape.length - 1) {
      throw new Error(`Normalization '${this.name}': statistics on axis ${axis} of a rank-${shape.length} input are not supported ` +
        '(only the last axis).');
    }
    const channels = shape[shape.length - 1];
    if (this.meanValues === null && typeof channels === 'number') {
      this.meanWeight = this.addWeight('mean', [channels], 'float32', initializers.zeros(), undefined, false);
      this.varianceWeight = this.addWeight('variance', [channels], 'float32', initializers.ones(), undefined, false);
      this.addWeight('count', [], 'float32', initializers.zeros(), undefined, false);
    }
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tidy(() => {
      const x = exactlyOne(inputs, `Normalization '${this.name}'`);
      const shape = x.shape.map((_, i) => (i === x.rank - 1 ? -1 : 1));
      const mean = this.meanWeight ? this.meanWeight.read() : reshape(this.meanValues as number[], [-1]);
      const variance = this.varianceWeight ? this.varianceWeight.read() : reshape(this.varianceValues as number[], [-1]);
      return div(sub(x, reshape(mean, shape)), reshape(maximum(sqrt(variance), 1e-7), shape));
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), axis: this.axis, mean: this.meanValues, variance: this.varianceValues, invert: false};
  }
}
serialization.registerClass(Normalization);
