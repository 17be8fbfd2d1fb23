/**
 * The Keras world's `StochasticDepth` and `FixedDropout`, registered under
 * those class names so that models carrying them load with
 * `tf.loadLayersModel` (files from tfjs' own converter) and through
 * `loadKerasModel`. One class name, two different layers —
 * told apart by their config:
 *
 * - `drop_path_rate` (keras.applications ConvNeXt): one input; each sample's
 *   branch dropped with that probability, kept samples × 1/keep; identity at
 *   inference. At rate 1 this gives exact zeros where Keras' gives NaN (0/0).
 * - `rate` (keras-cv) or `survival_probability` (TensorFlow Addons): two
 *   inputs `[shortcut, residual]`; in training one draw for the whole batch,
 *   `shortcut + residual` when kept and `shortcut` when dropped, no
 *   rescaling; at inference `shortcut + keep · residual`.
 */
import {add, mul, serialization, tidy} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {KerasDropout} from './keras_dropout';
import {keepFromSeed} from '../src/internal/drop_decision';
import {deriveSeed} from '../src/internal/seeds';
import {isTraining} from '../src/internal/tensors';
import {checkKeys, checkRate, describe, TFJS_LAYER_ARGS} from '../src/internal/validate';
import {dropPath} from '../src/ops/drop_path';

export interface StochasticDepthArgs extends LayerArgs {
  /** ConvNeXt's form: one input, per sample. */
  dropPathRate?: number;
  /** keras-cv's form: two inputs, drop probability. */
  rate?: number;
  /** TensorFlow Addons' (and older keras-cv's) form: two inputs, keep probability. */
  survivalProbability?: number;
  /** Seed of the drop stream (this package's addition). */
  seed?: number;
}

/** The seed of one call: from the layer's own stream when seeded (deriveSeed), otherwise fresh. */
function streamSeed(state: {seed: number | undefined; calls: number}): number {
  if (state.seed === undefined) return Math.floor(Math.random() * 2 ** 32);
  return deriveSeed(state.seed, 'stochastic_depth', state.calls++);
}

export class StochasticDepth extends layers.Layer {
  static className = 'StochasticDepth';
  /** 'perSample' (ConvNeXt: one input) or 'twoInput' (keras-cv, TF Addons). */
  readonly form: 'perSample' | 'twoInput';
  /** The drop probability (1 − survival probability). */
  readonly dropRate: number;
  private readonly field: 'dropPathRate' | 'rate' | 'survivalProbability';
  private readonly state: {seed: number | undefined; calls: number};

  constructor(args: StochasticDepthArgs) {
    checkKeys(args, ['dropPathRate', 'rate', 'survivalProbability', 'seed', ...TFJS_LAYER_ARGS], 'StochasticDepth(args)');
    super(args);
    const given = (['dropPathRate', 'rate', 'survivalProbability'] as const).filter((k) => args?.[k] !== undefined && args[k] !== null);
    if (given.length !== 1) {
      throw new Error('StochasticDepth: the config must hold exactly one of drop_path_rate (ConvNeXt), rate (keras-cv) or ' +
        `survival_probability (TensorFlow Addons), but it holds ${given.length ? given.join(', ') : 'none of them'}` +
        ` (fields: ${Object.keys(args ?? {}).join(', ') || 'none'}).`);
    }
    this.field = given[0] as StochasticDepth['field'];
    const value = checkRate(args[this.field], `StochasticDepth: ${this.field}`);
    this.form = this.field === 'dropPathRate' ? 'perSample' : 'twoInput';
    this.dropRate = this.field === 'survivalProbability' ? 1 - value : value;
    if (args.seed !== undefined && !Number.isSafeInteger(args.seed)) {
      throw new Error(`StochasticDepth: seed must be a safe integer, but received ${describe(args.seed)}.`);
    }
    this.state = {seed: args.seed, calls: 0};
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return this.form === 'twoInput' ? (inputShape as Shape[])[0] as Shape : inputShape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      if (this.form === 'perSample') {
        if (list.length !== 1) throw new Error(`StochasticDepth '${this.name}' (drop_path_rate) takes one input, but received ${list.length}.`);
        const x = list[0] as Tensor;
        return isTraining(kwargs) ? dropPath(x, this.dropRate, {seed: streamSeed(this.state)}) : x.clone();
      }
      if (list.length !== 2) {
        throw new Error(`StochasticDepth '${this.name}' (${this.field}) takes two inputs [shortcut, residual], but received ${list.length}.`);
      }
      const [shortcut, residual] = list as [Tensor, Tensor];
      if (!isTraining(kwargs)) return add(shortcut, mul(residual, 1 - this.dropRate));
      const kept = keepFromSeed(streamSeed(this.state), 1, this.dropRate)[0];
      return kept ? add(shortcut, residual) : shortcut.clone();
    });
  }

  override getConfig(): serialization.ConfigDict {
    const value = this.field === 'survivalProbability' ? 1 - this.dropRate : this.dropRate;
    return {...super.getConfig(), [this.field]: value, ...(this.state.seed !== undefined ? {seed: this.state.seed} : {})};
  }
}
serialization.registerClass(StochasticDepth);

/**
 * `FixedDropout` of third-party EfficientNets (tensorflow/tfjs #4069): a
 * Dropout whose `noise_shape` None entries take the input's sizes, registered
 * under its name so that such files load; computed as Keras computes it
 * (KerasDropout: a fresh mask every call, also when seeded).
 */
export class FixedDropout extends KerasDropout {
  static override className = 'FixedDropout';
}
serialization.registerClass(FixedDropout);
