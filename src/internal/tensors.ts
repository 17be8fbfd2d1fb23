import {customGrad} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {describe} from './validate';

/** The one tensor of a layer call (tf.layers passes a tensor or an array of one). */
export function exactlyOne(inputs: Tensor | Tensor[], layer: string): Tensor {
  if (!Array.isArray(inputs)) return inputs;
  if (inputs.length !== 1 || inputs[0] === undefined) {
    throw new Error(`${layer} expects exactly one input tensor, but received ${describe(inputs)}.`);
  }
  return inputs[0];
}

/** The training flag as tf.layers passes it: only `training === true` trains. */
export function isTraining(kwargs: {training?: unknown} | undefined): boolean {
  return kwargs?.training === true;
}

/** What a custom-gradient function returns: its value and the gradient of each input. */
export interface WithGradient {
  value: Tensor;
  gradFunc: (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];
}

/**
 * `tf.customGrad` with its types said once: `f` receives the inputs and a
 * `save` for tensors the gradient needs (they survive the surrounding tidy),
 * and returns the value and the gradient function; the result is a plain
 * function of the inputs. tfjs' own typings take and give untyped functions,
 * which every call site would otherwise cast twice.
 */
export function withGradient<A extends Tensor[]>(f: (...args: [...A, (saved: Tensor[]) => void]) => WithGradient):
    (...args: A) => Tensor {
  return customGrad(f as unknown as Parameters<typeof customGrad>[0]) as unknown as (...args: A) => Tensor;
}
