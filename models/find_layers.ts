import {layers} from '@tensorflow/tfjs-layers';

import {DropDecision} from '../src/internal/drop_decision';
import type {DropControls} from '../src/internal/drop_decision';

type Layer = InstanceType<typeof layers.Layer>;

/** A layer of this package that drops (DropPath, StochasticResidual): a layer with drop controls. */
export type DropLayer = Layer & DropControls;

/** Whether `layer` is a drop layer of this package (it owns a DropDecision). */
export function isDropLayer(layer: unknown): layer is DropLayer {
  return layer instanceof layers.Layer && (layer as {drop?: unknown}).drop instanceof DropDecision;
}

/** The layers a layer owns: a model's layers, or a wrapper's children (`nestedLayers()`). */
export function nestedLayers(layer: Layer): Layer[] {
  const wrapper = layer as {nestedLayers?: () => Layer[]};
  if (typeof wrapper.nestedLayers === 'function') return wrapper.nestedLayers();
  const inner = (layer as {layers?: Layer[]}).layers;
  return Array.isArray(inner) ? inner : [];
}

/**
 * Every drop layer under `root` in depth order (the order of `layers`),
 * nested models and StochasticResidual branches included. Each layer once,
 * even when shared.
 */
export function findDropLayers(root: Layer): DropLayer[] {
  const found: DropLayer[] = [];
  const seen = new Set<Layer>();
  const visit = (layer: Layer | null | undefined) => {
    if (!layer || seen.has(layer)) return;
    seen.add(layer);
    if (isDropLayer(layer)) found.push(layer);
    nestedLayers(layer).forEach(visit);
  };
  visit(root);
  return found;
}

/** Every layer under `root` (itself excluded), depth first, nested models and wrapper children included, each once. */
export function allNestedLayers(root: Layer): Layer[] {
  const out: Layer[] = [];
  const seen = new Set<Layer>([root]);
  const visit = (layer: Layer) => {
    for (const child of nestedLayers(layer)) {
      if (!child || seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      visit(child);
    }
  };
  visit(root);
  return out;
}
