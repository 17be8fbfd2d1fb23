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
import {batchNorm, moments, slice, tidy} from '@tensorflow/tfjs-core';
import type {Tensor, Tensor1D} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';

import {batchNormAttrs, tensorflowKernels} from '../internal/tf_kernels';

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
}

/**
 * Normalizes `x` ([N, H, W, C], channels last) over every axis but the last
 * with the batch's own statistics: `gamma · (x − mean) / √(variance + ε) + beta`.
 */
export function batchNormTrain(x: Tensor, gamma: Tensor1D, beta: Tensor1D, epsilon: number): BatchNormTrainResult {
  const tfb = x.rank === 4 && x.dtype === 'float32' ? tensorflowKernels('batchNorm') : null;
  if (!tfb) return reference(x, gamma, beta, epsilon);
  const common = batchNormAttrs(tfb, epsilon);
  const forwardAttrs = [...common, {name: 'exponential_avg_factor', type: tfb.binding.TF_ATTR_FLOAT, value: 1}];
  // The kernel runs here, in the caller's scope, so that the statistics are ordinary tensors of that
  // scope; the custom gradient only carries y and what the backward kernel needs.
  const empty = tidy(() => slice(gamma, [0], [0]));
  const out = tfb.executeMultipleOutputs('FusedBatchNormV3', forwardAttrs, [x, gamma, beta, empty, empty], 6);
  empty.dispose();
  const [y0, mean, unbiased, reserve1, reserve2, reserve3] = out as [Tensor, Tensor1D, Tensor, Tensor, Tensor1D, Tensor];
  unbiased.dispose(); // output 2 is the unbiased variance; tfjs-layers updates with the biased one (reserve_space_2)
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
  tidy(() => [y0, reserve1, reserve3].forEach((t) => t.dispose()));
  return {y, mean, variance: reserve2, path: 'fused'};
}

function reference(x: Tensor, gamma: Tensor1D, beta: Tensor1D, epsilon: number): BatchNormTrainResult {
  const axes = Array.from({length: x.rank - 1}, (_, i) => i);
  const {mean, variance} = moments(x, axes);
  const y = batchNorm(x, mean, variance, beta, gamma, epsilon);
  return {y, mean: mean as Tensor1D, variance: variance as Tensor1D, path: 'reference'};
}
