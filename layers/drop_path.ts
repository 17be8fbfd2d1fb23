import {clone, serialization, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {Shape} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {RateOverride} from '../src/internal/rate_override';
import {SeedStream} from '../src/internal/seed_stream';
import {exactlyOne, isTraining} from '../src/internal/tensors';
import {checkBoolean, checkInput, checkMode, checkRate, checkSeed, describe, optional} from '../src/internal/validate';
import type {DropMode} from '../src/internal/validate';
import {keepMask, maskRows} from '../src/ops/drop_path';

/** Arguments of the {@link DropPath} layer. */
export interface DropPathArgs extends LayerArgs {
  /** Probability of dropping a sample's branch, in [0, 1]. Writable later as `layer.rate`. */
  rate: number;
  /** 'row' (default): one draw per sample; 'batch': one draw per call for the whole batch. */
  mode?: DropMode;
  /** Scale kept samples by 1/(1 − rate) (default true), so inference is the identity. */
  scaleByKeep?: boolean;
  /** Seed of the layer's mask stream: the same masks run to run, a new mask every call. */
  seed?: number;
}

/**
 * Stochastic depth (DropPath) as a layer: during training, zeroes the whole
 * input of a sample with probability `rate` and scales kept samples by
 * 1/(1 − rate); outside training it is the identity. Place it on a residual
 * branch, just before the add.
 *
 * Huang et al. 2016, https://arxiv.org/abs/1603.09382.
 *
 * Input shape: any, rank ≥ 1 with the batch on axis 0 (float32).
 * Output shape: the same as the input.
 *
 * Training is read from `kwargs.training === true`, which `fit`, `fitDataset`
 * and `trainOnBatch` pass; `predict`, `evaluate` and validation do not.
 *
 * @example
 * const input = tf.input({shape: [8]});
 * const branch = tf.layers.dense({units: 8}).apply(input) as tf.SymbolicTensor;
 * const dropped = dp.layers.dropPath({rate: 0.2}).apply(branch) as tf.SymbolicTensor;
 * const out = tf.layers.add().apply([input, dropped]) as tf.SymbolicTensor;
 * const model = tf.model({inputs: input, outputs: out});
 */
export class DropPath extends layers.Layer {
  /** Kept literal: minifiers rename classes. */
  static className = 'DropPath';

  private currentMode: DropMode;
  private currentScaleByKeep: boolean;
  private readonly fixedSeed: number | undefined;
  private currentRate: number;
  private readonly stream: SeedStream;
  /** A DropPathScheduler's temporary rate, kept apart from `rate` (not saved; lapses when its fit ends). */
  readonly rateOverride = new RateOverride();

  constructor(args: DropPathArgs) {
    if (args === null || typeof args !== 'object') {
      throw new Error(`DropPath: args must be an object with a rate, but received ${describe(args)}.`);
    }
    super(args);
    this.currentRate = checkRate(args.rate, 'DropPath: rate');
    this.currentMode = checkMode(optional(args.mode, 'row', 'DropPath: mode'), 'DropPath: mode');
    this.currentScaleByKeep = checkBoolean(optional(args.scaleByKeep, true, 'DropPath: scaleByKeep'), 'DropPath: scaleByKeep');
    this.fixedSeed = checkSeed(args.seed, 'DropPath: seed');
    this.stream = new SeedStream(this.fixedSeed);
    this.supportsMasking = true;
  }

  /** The drop probability; setting it takes effect on the next call, no rebuild needed. */
  get rate(): number {
    return this.currentRate;
  }

  set rate(rate: number) {
    this.currentRate = checkRate(rate, `DropPath '${this.name}': rate`);
  }

  /** 'row' or 'batch'; writable (validated), takes effect on the next call and is saved. */
  get mode(): DropMode {
    return this.currentMode;
  }

  set mode(mode: DropMode) {
    this.currentMode = checkMode(mode, `DropPath '${this.name}': mode`);
  }

  /** Whether kept samples are scaled by 1/(1 − rate); writable (validated). */
  get scaleByKeep(): boolean {
    return this.currentScaleByKeep;
  }

  set scaleByKeep(value: boolean) {
    this.currentScaleByKeep = checkBoolean(value, `DropPath '${this.name}': scaleByKeep`);
  }

  /** The seed of the mask stream, fixed at construction. */
  get seed(): number | undefined {
    return this.fixedSeed;
  }

  set seed(_value: number | undefined) {
    throw new Error(`DropPath '${this.name}': seed is fixed at construction (it seeds the layer's mask stream); ` +
      'create a new layer for another seed.');
  }

  /**
   * The rate the next training call uses: a running DropPathScheduler's value
   * while its fit lasts, otherwise `rate`.
   */
  get activeRate(): number {
    return this.rateOverride.get() ?? this.currentRate;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      this.invokeCallHook(inputs, kwargs);
      const x = checkInput(exactlyOne(inputs, `DropPath '${this.name}'`), `DropPath '${this.name}': input`);
      const rate = checkRate(this.activeRate, `DropPath '${this.name}': rate`);
      if (!isTraining(kwargs) || rate === 0) return clone(x);
      if (rate === 1) return zerosLike(x);
      return maskRows(x, keepMask(x.shape, rate, this.mode, this.scaleByKeep, this.stream.next()));
    });
  }

  override getConfig(): serialization.ConfigDict {
    const config: serialization.ConfigDict = {
      rate: this.currentRate,
      mode: this.mode,
      scaleByKeep: this.scaleByKeep,
    };
    if (this.fixedSeed !== undefined) config.seed = this.fixedSeed;
    return {...config, ...super.getConfig()};
  }
}
serialization.registerClass(DropPath);

/**
 * Creates a {@link DropPath} layer.
 *
 * @example
 * const layer = dp.layers.dropPath({rate: 0.1});
 */
export function dropPathLayer(args: DropPathArgs): DropPath {
  return new DropPath(args);
}
