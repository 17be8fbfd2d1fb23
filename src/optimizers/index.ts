/**
 * Optimizers that update all of a step's variables as one flat vector (a few
 * kernels per step instead of a dozen per variable), with tf.train's updates
 * (`adam`, `sgd` / momentum) and torch's AdamW. Drop-in: they take tf.train's
 * positional arguments, or one object.
 */
import {GroupedAdam, GroupedSGD} from './grouped';
import type {GroupedAdamArgs, GroupedSGDArgs} from './grouped';

export {adamw} from './adamw';

/**
 * `tf.train.adam(learningRate, beta1, beta2, epsilon)`'s update, grouped: `adam(0.001)` or
 * `adam({learningRate, beta1, beta2, epsilon})`.
 */
export function adam(learningRate?: number | GroupedAdamArgs, beta1?: number, beta2?: number, epsilon?: number): GroupedAdam {
  if (learningRate !== null && typeof learningRate === 'object') return new GroupedAdam(learningRate);
  return new GroupedAdam(Object.fromEntries(Object.entries({learningRate, beta1, beta2, epsilon}).filter(([, v]) => v !== undefined)));
}

/**
 * `tf.train.sgd(learningRate)`, or with momentum `tf.train.momentum(learningRate, momentum, useNesterov)`'s update,
 * grouped: `sgd(0.1)`, `sgd(0.1, 0.9)` or `sgd({learningRate, momentum, useNesterov})`.
 */
export function sgd(learningRate: number | GroupedSGDArgs, momentum?: number, useNesterov?: boolean): GroupedSGD {
  if (learningRate !== null && typeof learningRate === 'object') return new GroupedSGD(learningRate);
  return new GroupedSGD(Object.fromEntries(Object.entries({learningRate, momentum, useNesterov}).filter(([, v]) => v !== undefined)) as
    unknown as GroupedSGDArgs);
}
