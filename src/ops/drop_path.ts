import {add, broadcastTo, clone, floor, greater, mul, randomUniform, tidy, where, zerosLike} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';

import {floatAttr, tensorflowKernels} from '../internal/tf_kernels';
import {checkBoolean, checkInput, checkKeys, checkMode, checkRate, checkSeed, describe, optional} from '../internal/validate';
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
  return scaledKeepMask(shape.map((d, i) => (i === 0 && mode === 'row' ? d : 1)), rate, scaleByKeep, seed);
}

/** `floor(keep + U)` of shape `maskShape` (each entry 1 with probability keep = 1 − rate), times 1/keep when `scaleByKeep`. */
export function scaledKeepMask(maskShape: readonly number[], rate: number, scaleByKeep: boolean, seed: number | undefined): Tensor {
  const keep = 1 - rate;
  return tidy(() => {
    const mask = floor(add(randomUniform([...maskShape], 0, 1, 'float32', seed), keep));
    return scaleByKeep ? mul(mask, 1 / keep) : mask;
  });
}

/**
 * `x · mask` for a per-row (or whole-batch) mask of shape `[B, 1, …, 1]` (or
 * `[1, …, 1]`) with entries ≥ 0 — except that a row whose mask is 0 comes out
 * exactly 0 whatever x holds there (a plain product gives NaN for NaN or ±Inf
 * times 0), and the gradient that flows back into it is exactly 0 (dy · mask,
 * dy finite). One rule for every drop of this package: a dropped branch
 * contributes exactly 0.
 */
export function maskRows(x: Tensor, mask: Tensor): Tensor {
  const f = withGradient<[Tensor, Tensor]>((t, m, save) => {
    save([m]);
    return {
      value: mulNoNan(t, m) ?? where(broadcastTo(greater(m, 0), t.shape), mul(t, m), zerosLike(t)),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const sm = saved[0] as Tensor;
        return [mulNoNan(dy, sm) ?? mul(dy, sm), zerosLike(sm)];
      },
    };
  });
  return f(x, mask);
}

/**
 * TensorFlow's `MulNoNan` (x · m, and exactly 0 wherever m is 0, whatever x
 * holds; broadcasting) in one kernel on the tfjs-node backends; null on every
 * other backend (or where the kernel failed its probe), where the caller
 * computes the same with `where`.
 */
function mulNoNan(x: Tensor, m: Tensor): Tensor | null {
  const k = tensorflowKernels('mulNoNan');
  return k ? k.executeSingleOutput('MulNoNan', [floatAttr(k)], [x, m]) : null;
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
 * - rate 1: exact zeros (never NaN). A dropped row is exactly 0 at every rate,
 *   even where x holds NaN or ±Inf; its gradient is exactly 0.
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
  checkKeys(opts, ['training', 'mode', 'scaleByKeep', 'seed'], 'dropPath(x, rate, opts)');
  const training = checkBoolean(optional(opts.training, true, 'dropPath: opts.training'), 'dropPath: opts.training');
  const mode = checkMode(optional(opts.mode, 'row', 'dropPath: opts.mode'), 'dropPath: opts.mode');
  const scaleByKeep = checkBoolean(optional(opts.scaleByKeep, true, 'dropPath: opts.scaleByKeep'), 'dropPath: opts.scaleByKeep');
  const seed = checkSeed(opts.seed, 'dropPath: opts.seed');
  if (!training || rate === 0) return clone(input);
  if (rate === 1) return zerosLike(input);
  return tidy(() => maskRows(input, keepMask(input.shape, rate, mode, scaleByKeep, seed)));
}
