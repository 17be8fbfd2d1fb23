/**
 * A faster training path for a stock tfjs-layers BatchNormalization instance
 * (issue 11; not yet switched on by the builders). The layer stays what it is
 * — class `BatchNormalization`, its config, its weights — so a saved model is
 * a stock model; only this instance's training call changes: one fused batch
 * normalization kernel each way on tfjs-node (`batchNormTrain`), then the
 * moving statistics updated exactly as tfjs-layers does. Nothing is replaced
 * globally, and inference is the stock call.
 */
import {sub, mul, tidy} from '@tensorflow/tfjs-core';
import type {Tensor, Tensor1D} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable} from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {batchNormTrain} from '../src/ops/fused_batch_norm';
import {exactlyOne} from '../src/internal/tensors';

type Layer = InstanceType<typeof layers.Layer>;

/** The fields of tfjs-layers' BatchNormalization the fast path reads. */
interface StockBatchNorm extends Layer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

const stockCall = new WeakMap<Layer, Layer['call']>();

/** Why `layer` cannot take the fast path, or null when it can. */
export function fastBatchNormBlocker(layer: Layer): string | null {
  if (layer.getClassName() !== 'BatchNormalization') return `it is a ${layer.getClassName()}, not a BatchNormalization`;
  const bn = layer as StockBatchNorm;
  if (!bn.center || !bn.scale) return 'it has no center or no scale';
  if (bn.axis !== -1 && bn.axis !== 3) return `it normalizes axis ${bn.axis}, not the channels-last axis`;
  return null;
}

/** Whether `layer`'s training calls take the fast path. */
export function usesFastBatchNorm(layer: Layer): boolean {
  return stockCall.has(layer);
}

/**
 * Switches a BatchNormalization instance to the fast training path (`true`)
 * or back to the stock call (`false`). Throws, saying why, for a layer that
 * cannot take it. Rank-4 float32 inputs take the fused kernels on tfjs-node;
 * anything else runs the same semantics with tf.moments and tf.batchNorm.
 */
export function setFastBatchNorm(layer: Layer, enabled: boolean): void {
  if (!enabled) {
    const original = stockCall.get(layer);
    if (original) {
      delete (layer as {call?: unknown}).call; // the prototype's (stock) call again
      stockCall.delete(layer);
    }
    return;
  }
  const blocker = fastBatchNormBlocker(layer);
  if (blocker !== null) throw new Error(`setFastBatchNorm: layer '${layer.name}' cannot take the fast path: ${blocker}.`);
  if (stockCall.has(layer)) return;
  const bn = layer as StockBatchNorm;
  const original = bn.call;
  stockCall.set(layer, original);
  bn.call = function fastCall(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    if (kwargs?.training !== true) return original.call(bn, inputs, kwargs);
    return tidy(() => {
      const x = exactlyOne(inputs, `BatchNormalization '${bn.name}'`);
      const {y, mean, variance} = batchNormTrain(x, bn.gamma.read() as Tensor1D, bn.beta.read() as Tensor1D, bn.epsilon);
      // tfjs-layers' update, to the letter: v ← v − (v − batch) · (1 − momentum).
      for (const [variable, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
        tidy(() => {
          const orig = variable.read();
          variable.write(sub(orig, mul(sub(orig, value), 1 - bn.momentum)));
        });
      }
      return y;
    });
  };
}
