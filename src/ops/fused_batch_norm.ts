/**
 * Batch normalization in training mode, for the fast residual blocks on
 * tfjs-node (the fast path of layers/training_paths.ts).
 *
 * On the `tensorflow` backend (tfjs-node, tfjs-node-gpu) the forward pass is
 * one TensorFlow `FusedBatchNormV3` kernel and the backward pass one
 * `FusedBatchNormGradV3`, in a custom gradient; tfjs-layers' BatchNormalization
 * builds the same from dozens of small element-wise ops. Every other backend
 * computes the same thing with `tf.moments` and `tf.batchNorm`.
 */
import {batchNorm, moments, mul, sub, tidy} from '@tensorflow/tfjs-core';
import type {Tensor, Tensor1D} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';

import {batchNormAttrs, emptyInput, tensorflowKernels} from '../internal/tf_kernels';

/** The result of a training-mode batch normalization. */
export interface BatchNormTrainResult {
  /** The normalized, scaled and shifted input (differentiable in x, gamma and beta). */
  y: Tensor;
  /** The batch mean per channel (for the moving mean). All three are tensors of the caller's scope. */
  mean: Tensor1D;
  /** The biased batch variance per channel (no gradient; for the moving variance, as tfjs-layers updates it). */
  variance: Tensor1D;
  /** 'fused' (one TensorFlow kernel each way) or 'reference' (tf.moments + tf.batchNorm). */
  path: 'fused' | 'reference';
  /** With `moving`: the updated moving mean and variance (no gradient). */
  movingMean?: Tensor1D;
  movingVariance?: Tensor1D;
}

/** Moving statistics to update as tfjs-layers does: `v ← v − (v − batch) · (1 − momentum)`. */
export interface MovingStatistics {
  mean: Tensor1D;
  variance: Tensor1D;
  momentum: number;
}

/** tfjs-layers' update of one moving statistic, to the letter. */
function movingUpdate(moving: Tensor, batch: Tensor, momentum: number): Tensor1D {
  return tidy(() => sub(moving, mul(sub(moving, batch), 1 - momentum)) as Tensor1D);
}

/**
 * Normalizes `x` ([N, H, W, C], channels last) over every axis but the last
 * with the batch's own statistics: `gamma · (x − mean) / √(variance + ε) + beta`.
 * With `moving`, also the updated moving statistics (tfjs-layers' rule, with
 * the biased batch variance); on the fused path the kernel computes the
 * moving mean itself (its exponential average) and the variance takes two
 * [C] ops, where the rule written out takes three ops each.
 */
export function batchNormTrain(x: Tensor, gamma: Tensor1D, beta: Tensor1D, epsilon: number,
    moving?: MovingStatistics): BatchNormTrainResult {
  const tfb = x.rank === 4 && x.dtype === 'float32' ? tensorflowKernels('batchNorm') : null;
  if (!tfb) return withMoving(reference(x, gamma, beta, epsilon), moving);
  const common = batchNormAttrs(tfb, epsilon);
  // Values per channel; the kernel's moving variance uses the unbiased batch variance (÷ (n − 1)).
  const n = x.size / (x.shape[3] as number);
  const factor = moving && n > 1 && moving.momentum >= 0 && moving.momentum < 1 ? 1 - moving.momentum : 1;
  const forwardAttrs = [...common, {name: 'exponential_avg_factor', type: tfb.binding.TF_ATTR_FLOAT, value: factor}];
  // The kernel runs here, in the caller's scope, so that the statistics are ordinary tensors of that
  // scope; the custom gradient only carries y and what the backward kernel needs.
  const empty = emptyInput();
  const [meanIn, varianceIn] = factor === 1 ? [empty, empty] : [(moving as MovingStatistics).mean, (moving as MovingStatistics).variance];
  const out = tfb.executeMultipleOutputs('FusedBatchNormV3', forwardAttrs, [x, gamma, beta, meanIn, varianceIn], 6);
  const [y0, out1, out2, reserve1, reserve2, reserve3] = out as [Tensor, Tensor1D, Tensor, Tensor, Tensor1D, Tensor];
  let ema: {movingMean: Tensor1D; movingVariance: Tensor1D} | null = null;
  if (factor !== 1) {
    // out1 = (1 − f)·v + f·batch mean; out2 the same with the unbiased variance: take f·(unbiased − biased) = f·biased/(n − 1) off.
    ema = {movingMean: out1, movingVariance: tidy(() => sub(out2, mul(reserve2, factor / (n - 1))) as Tensor1D)};
  }
  out2.dispose(); // the unbiased variance (or its average); tfjs-layers uses the biased one (reserve_space_2)
  const f = withGradient<[Tensor, Tensor, Tensor]>((t, g, _b, save) => {
    save([t, g, reserve1, reserve2, reserve3]);
    return {
      value: y0.clone(),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const grads = tfb.executeMultipleOutputs('FusedBatchNormGradV3', common, [dy, ...saved], 5);
        (grads[3] as Tensor).dispose();
        (grads[4] as Tensor).dispose();
        return [grads[0] as Tensor, grads[1] as Tensor, grads[2] as Tensor];
      },
    };
  });
  const y = f(x, gamma, beta);
  tidy(() => [y0, reserve3, ...(ema ? [] : [reserve1])].forEach((t) => t.dispose()));
  // reserve_space_1 is the batch mean (output 1 is, without a moving average).
  if (ema) return {y, mean: reserve1 as Tensor1D, variance: reserve2, path: 'fused', ...ema};
  return withMoving({y, mean: out1, variance: reserve2, path: 'fused'}, moving);
}

function withMoving(r: BatchNormTrainResult, moving: MovingStatistics | undefined): BatchNormTrainResult {
  if (!moving) return r;
  return {...r, movingMean: movingUpdate(moving.mean, r.mean, moving.momentum),
    movingVariance: movingUpdate(moving.variance, r.variance, moving.momentum)};
}

function reference(x: Tensor, gamma: Tensor1D, beta: Tensor1D, epsilon: number): BatchNormTrainResult {
  const axes = Array.from({length: x.rank - 1}, (_, i) => i);
  const {mean, variance} = moments(x, axes);
  const y = batchNorm(x, mean, variance, beta, gamma, epsilon);
  return {y, mean: mean as Tensor1D, variance: variance as Tensor1D, path: 'reference'};
}
