import {layers} from '@tensorflow/tfjs-layers';

import {DropPath} from '../layers/drop_path';
import {StochasticResidual} from '../layers/stochastic_residual';

type Layer = InstanceType<typeof layers.Layer>;

/** A layer whose drop rate can be read and set. */
export type DropLayer = DropPath | StochasticResidual;

/**
 * Every DropPath and StochasticResidual layer under `root` in depth order
 * (the order of `layers`), nested models and StochasticResidual branches
 * included. Each layer once, even when shared.
 */
export function findDropLayers(root: Layer): DropLayer[] {
  const found: DropLayer[] = [];
  const seen = new Set<Layer>();
  const visit = (layer: Layer | null | undefined) => {
    if (!layer || seen.has(layer)) return;
    seen.add(layer);
    if (layer instanceof DropPath || layer instanceof StochasticResidual) found.push(layer);
    if (layer instanceof StochasticResidual) {
      visit(layer.shortcut);
      visit(layer.branch);
    }
    const inner = (layer as {layers?: Layer[]}).layers;
    if (Array.isArray(inner)) inner.forEach(visit);
  };
  visit(root);
  return found;
}
