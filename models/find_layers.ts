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
 * Every drop layer under `root` in depth order (the order of `layers`),
 * nested models and StochasticResidual branches included. Each layer once,
 * even when shared.
 */
export function findDropLayers(root: Layer): DropLayer[] {
  return [root, ...allNestedLayers(root)].filter(isDropLayer);
}

export {allNestedLayers};

