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
