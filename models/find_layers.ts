import {layers} from '@tensorflow/tfjs-layers';

import {DropDecision} from '../src/internal/drop_decision';
import type {DropControls} from '../src/internal/drop_decision';
import {allNestedLayers} from '../src/internal/walk';

type Layer = InstanceType<typeof layers.Layer>;

/** A layer of this package that drops (DropPath, StochasticResidual): a layer with drop controls. */
export type DropLayer = Layer & DropControls;

/** Whether `layer` is a drop layer of this package (it owns a DropDecision). */
export function isDropLayer(layer: unknown): layer is DropLayer {
  return layer instanceof layers.Layer && (layer as {drop?: unknown}).drop instanceof DropDecision;
}

/**
 * A Keras stochastic-depth Dropout (EfficientNet's `Dropout(noise_shape=[None, 1, 1, 1])`, a third-party
 * `FixedDropout` of that form): one draw per sample, kept samples × 1/(1 − rate) — a drop path by another name.
 */
export type SampleDropout = Layer & {rate: number; noiseShape: (number | null)[]};

export function isSampleDropout(layer: unknown): layer is SampleDropout {
  if (!(layer instanceof layers.Layer)) return false;
  const cls = layer.getClassName();
  const noise = (layer as {noiseShape?: unknown}).noiseShape;
  return (cls === 'Dropout' || cls === 'FixedDropout') && Array.isArray(noise) && noise.length >= 2 &&
    noise.slice(1).every((d) => d === 1);
}

/**
 * Every drop layer under `root` in depth order (the order of `layers`),
 * nested models and StochasticResidual branches included. Each layer once,
 * even when shared.
 */
export function findDropLayers(root: Layer): DropLayer[] {
  return [root, ...allNestedLayers(root)].filter(isDropLayer);
}

export {allNestedLayers};

