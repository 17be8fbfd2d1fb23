import {add, clone, floor, mul, randomUniform, tidy, zerosLike} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {checkBoolean, checkInput, checkMode, checkRate, checkSeed, describe} from '../internal/validate';
import type {DropMode} from '../internal/validate';

/** Options of {@link dropPath}. */
export interface DropPathOptions {
  /** Drop only when true. Default true: calling the op asks for a drop. */
  training?: boolean;
  /** 'row': one draw per sample (axis 0); 'batch': one draw for the whole batch. Default 'row'. */
  mode?: DropMode;
  /** Scale kept samples by 1/(1 − rate) so that E[output] = x. Default true. */
  scaleByKeep?: boolean;
  /**
   * Seed of the uniform draw. The op is a pure function of its seed: the same
   * seed gives the same mask on every call (as `tf.randomUniform` does). The
   * DropPath layer turns its seed into a fresh seed per call.
   */
  seed?: number;
}

/**
 * The scaled keep mask of a drop: shape `[B, 1, …, 1]` ('row') or `[1, …, 1]`
 * ('batch') for an input of `shape`, built as `floor(keep + U)`, U ~ U[0, 1),
 * so each entry is 1 with probability keep = 1 − rate; times 1/keep when
 * `scaleByKeep`. Requires 0 < rate < 1 (the callers treat 0 and 1 exactly).
 */
export function keepMask(
    shape: readonly number[], rate: number, mode: DropMode, scaleByKeep: boolean,
    seed: number | undefined): Tensor {
  const keep = 1 - rate;
  const maskShape = shape.map((d, i) => (i === 0 && mode === 'row' ? d : 1));
  return tidy(() => {
    const u = randomUniform(maskShape, 0, 1, 'float32', seed);
    const mask = floor(add(u, keep));
    return scaleByKeep ? mul(mask, 1 / keep) : mask;
  });
}

/**
 * Stochastic depth (DropPath) as a functional op: zeroes whole samples of `x`
 * with probability `rate` and scales the kept ones by 1/(1 − rate).
 *
 * Huang et al. 2016, "Deep Networks with Stochastic Depth",
 * https://arxiv.org/abs/1603.09382. Apply it to a residual branch before the
 * add: `shortcut + dropPath(branch, rate)`.
 *
 * - rate 0, or `training: false`: a copy of x (no random op).
 * - rate 1: exact zeros (never NaN).
 * - Input: a float32 tensor of rank ≥ 1, batch on axis 0. Output: same shape and dtype.
 *
 * @example
 * const x = tf.ones([4, 3]);
 * dropPath(x, 0.5, {seed: 1}).print(); // each row is all 0 or all 2
 */
export function dropPath(x: Tensor, rate: number, opts: DropPathOptions = {}): Tensor {
  const input = checkInput(x, 'dropPath: x');
  checkRate(rate, 'dropPath: rate');
  if (opts === null || typeof opts !== 'object') {
    throw new Error(`dropPath: opts must be an object, but received ${describe(opts)}.`);
  }
  const training = checkBoolean(opts.training ?? true, 'dropPath: opts.training');
  const mode = checkMode(opts.mode ?? 'row', 'dropPath: opts.mode');
  const scaleByKeep = checkBoolean(opts.scaleByKeep ?? true, 'dropPath: opts.scaleByKeep');
  const seed = checkSeed(opts.seed, 'dropPath: opts.seed');
  if (!training || rate === 0) return clone(input);
  if (rate === 1) return zerosLike(input);
  return tidy(() => mul(input, keepMask(input.shape, rate, mode, scaleByKeep, seed)));
}
