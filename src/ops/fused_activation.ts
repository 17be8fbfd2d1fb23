/**
 * ReLU whose gradient is one TensorFlow kernel (`ReluGrad`) on the tensorflow
 * backend (the fast path). tfjs-core's own ReLU gradient is `dy · cast(step(x))`,
 * several full-size ops per call. The forward pass is tfjs' own op; on every
 * other backend (or where the kernel fails its probe) the whole thing is
 * tfjs' op with its own gradient, the same function. (ReLU6 is left stock:
 * TensorFlow's `Relu6Grad` passes no gradient at exactly x = 6, tfjs' does,
 * and the fast path promises tfjs' numbers.)
 */
import {relu} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';

import {floatAttr, tensorflowKernels} from '../internal/tf_kernels';

/** The activations that have a fused gradient. */
export type FusedActivationName = 'relu';
export const FUSED_ACTIVATIONS: readonly FusedActivationName[] = ['relu'];

const GRAD_KERNEL: Record<FusedActivationName, string> = {relu: 'ReluGrad'};
const FORWARD: Record<FusedActivationName, (x: Tensor) => Tensor> = {relu};

/**
 * `relu(x)`; on tfjs-node its gradient is one kernel, fed the output (y > 0
 * exactly where x > 0, as tfjs' `step(x)` has it, so x need not be kept).
 */
export function activationTrain(x: Tensor, name: FusedActivationName): {y: Tensor; path: 'fused' | 'reference'} {
  const forward = FORWARD[name];
  const k = x.dtype === 'float32' ? tensorflowKernels('activationGrad') : null;
  if (!k) return {y: forward(x), path: 'reference'};
  const f = withGradient<[Tensor]>((t, save) => {
    const y = forward(t);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => k.executeSingleOutput(GRAD_KERNEL[name], [floatAttr(k)], [dy, saved[0] as Tensor]),
    };
  });
  return {y: f(x), path: 'fused'};
}
