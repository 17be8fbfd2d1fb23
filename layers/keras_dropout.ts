/**
 * `KerasDropout`: Keras 3's `Dropout` (and, through its noise shape, its
 * `SpatialDropout1D/2D/3D`) as Keras computes it, where tfjs-layers' `Dropout`
 * differs:
 *
 * - with a seed, Keras draws a new mask on every training call (its
 *   SeedGenerator advances); tfjs' seeded Dropout draws the same mask on every
 *   call — a fixed set of units switched off for the whole training. Here the
 *   seed starts a stream: call k draws from the k-th seed of it, so the masks
 *   change from call to call and repeat from run to run;
 * - at rate 1 Keras gives zeros; tfjs passes the input through unchanged;
 * - a dropped entry is exactly 0, whatever the input holds there (Keras
 *   selects 0; tfjs multiplies, which gives NaN for NaN or ±Inf).
 *
 * Kept entries are scaled by 1/(1 − rate); at inference the layer passes its
 * input through. `noiseShape` entries that are null take the input's size
 * (`[null, 1, 1, null]` is SpatialDropout2D's, channels last). The Keras
 * reader uses it for a Dropout with a seed or at rate 1 and for the spatial
 * dropouts; the Keras writer writes it back as a Keras `Dropout`.
 */
import {serialization, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {deriveSeed} from '../src/internal/seeds';
import {isTraining} from '../src/internal/tensors';
import {checkKeys, checkRate, checkSeed, describe, TFJS_LAYER_ARGS} from '../src/internal/validate';
import {maskRows, scaledKeepMask} from '../src/ops/drop_path';

export interface KerasDropoutArgs extends LayerArgs {
  /** The probability of dropping each entry (each noise-shape cell), in [0, 1]. */
  rate: number;
  /** The mask's shape; a null entry takes the input's size on that axis. Default: the input's shape. */
  noiseShape?: Array<number | null> | null;
  /** The first seed of the layer's stream of per-call seeds; without one, every call draws afresh. */
  seed?: number | null;
}

/** A Keras noise shape: a list of positive integers and nulls (null: the input's size on that axis). */
export function isNoiseShape(shape: unknown): shape is Array<number | null> {
  return Array.isArray(shape) && shape.every((d) => d === null || (Number.isSafeInteger(d) && d > 0));
}

export class KerasDropout extends layers.Layer {
  static className = 'KerasDropout';
  private currentRate: number;
  readonly noiseShape: Array<number | null> | null;
  readonly seed: number | undefined;
  /** Training calls made so far: the index of the next call's seed in the stream. */
  private calls = 0;

  constructor(args: KerasDropoutArgs) {
    checkKeys(args, ['rate', 'noiseShape', 'seed', ...TFJS_LAYER_ARGS], 'KerasDropout(args)');
    super(args);
    this.currentRate = checkRate(args.rate, 'KerasDropout: rate', 'an entry');
    const shape = args.noiseShape ?? null;
    if (shape !== null && !isNoiseShape(shape)) {
      throw new Error('KerasDropout: noiseShape must be an array of positive integers and nulls (or null), but received ' +
        `${Array.isArray(shape) ? JSON.stringify(shape) : describe(shape)}.`);
    }
    this.noiseShape = shape === null ? null : [...shape];
    this.seed = checkSeed(args.seed, 'KerasDropout: seed');
  }

  /** The probability of dropping an entry; writable (addDropPath, setDropPathRates and a scheduler set it), validated. */
  get rate(): number {
    return this.currentRate;
  }

  set rate(rate: number) {
    this.currentRate = checkRate(rate, `KerasDropout '${this.name}': rate`, 'an entry');
  }

  /** The mask's shape for an input of `shape`: the noise shape with its nulls filled in. */
  private maskShape(shape: readonly number[]): number[] {
    if (this.noiseShape === null) return [...shape];
    if (this.noiseShape.length !== shape.length) {
      throw new Error(`KerasDropout '${this.name}': noiseShape ${JSON.stringify(this.noiseShape)} has ${this.noiseShape.length} ` +
        `axes, but the input has ${shape.length} (shape [${shape.join(', ')}]).`);
    }
    return this.noiseShape.map((d, i) => {
      const size = shape[i] as number;
      if (d !== null && d !== 1 && d !== size) {
        throw new Error(`KerasDropout '${this.name}': noiseShape ${JSON.stringify(this.noiseShape)} does not broadcast to the ` +
          `input's shape [${shape.join(', ')}] (axis ${i}: ${d} against ${size}).`);
      }
      return d ?? size;
    });
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    return tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      if (list.length !== 1) throw new Error(`KerasDropout '${this.name}' takes one input, but received ${list.length}.`);
      const x = list[0] as Tensor;
      if (!isTraining(kwargs) || this.rate === 0) return x.clone();
      const shape = this.maskShape(x.shape);
      // The call's seed: the next of the layer's stream when seeded, a fresh draw otherwise.
      const seed = this.seed === undefined ? undefined : deriveSeed(this.seed, 'dropout', this.calls++);
      if (this.rate === 1) return zerosLike(x);
      return maskRows(x, scaledKeepMask(shape, this.rate, true, seed));
    });
  }

  override getConfig(): serialization.ConfigDict {
    return {...super.getConfig(), rate: this.rate, noiseShape: this.noiseShape,
      ...(this.seed !== undefined ? {seed: this.seed} : {})};
  }
}
serialization.registerClass(KerasDropout);
