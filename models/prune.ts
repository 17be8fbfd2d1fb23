/**
 * Depth on demand (LayerDrop-style pruning, Fan et al. 2019,
 * arXiv 1909.11556): a network trained with stochastic depth still works with
 * some residual blocks removed. `pruneBlocks` builds that shallower network.
 */
import {serialization} from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {StochasticResidual} from '../layers/stochastic_residual';
import {describe, optional} from '../src/internal/validate';

/** Which removable blocks to keep: indices in depth order, or a predicate. */
export type KeepSpec = readonly number[] | ((index: number, block: StochasticResidual) => boolean);

export interface PruneArgs {
  /** The StochasticResidual blocks to keep (0-based, in depth order among the model's blocks). */
  keep: KeepSpec;
  /** Name of the new model. Default `${model.name}_pruned`. */
  name?: string;
}

/** A predicate keeping every n-th block (0, n, 2n, …); `keepEvery(2)` keeps every other block, as fairseq recommends. */
export function keepEvery(n: number): (index: number) => boolean {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new Error(`keepEvery: n must be a positive integer, but received ${describe(n)}.`);
  }
  return (index) => index % n === 0;
}

type NodeRef = [string, number, number, unknown?];
interface LayerEntry {name: string; className: string; config: serialization.ConfigDict; inboundNodes: NodeRef[][]}

/**
 * Returns a NEW model in which the top-level StochasticResidual blocks not
 * listed in `keep` are removed: their output is their input (the identity
 * shortcut). The kept layers get copies of the trained weights; the original
 * model is untouched. A block with a projection shortcut cannot be removed.
 *
 * @example
 * const half = dp.pruneBlocks(model, {keep: dp.keepEvery(2)});
 */
export function pruneBlocks(model: LayersModel, args: PruneArgs): LayersModel {
  if (!model || typeof (model as {getConfig?: unknown}).getConfig !== 'function' || !Array.isArray(model.layers)) {
    throw new Error(`pruneBlocks: model must be a tf.LayersModel, but received ${describe(model)}.`);
  }
  if (args === null || typeof args !== 'object') {
    throw new Error(`pruneBlocks: args must be an object {keep}, but received ${describe(args)}.`);
  }
  const blocks = model.layers.filter((l): l is StochasticResidual => l instanceof StochasticResidual);
  const keepSet = new Set<number>();
  const {keep} = args;
  if (typeof keep === 'function') {
    blocks.forEach((b, i) => { if (keep(i, b)) keepSet.add(i); });
  } else if (Array.isArray(keep)) {
    for (const i of keep) {
      if (!Number.isInteger(i) || i < 0 || i >= blocks.length) {
        throw new Error(`pruneBlocks: keep must list block indices from 0 to ${blocks.length - 1} ` +
          `(the model has ${blocks.length} StochasticResidual blocks), but received ${describe(i)}.`);
      }
      if (keepSet.has(i)) throw new Error(`pruneBlocks: keep lists block ${i} twice.`);
      keepSet.add(i);
    }
  } else {
    throw new Error(`pruneBlocks: keep must be an array of block indices or a predicate, but received ${describe(keep)}.`);
  }
  const removed = blocks.filter((_, i) => !keepSet.has(i));
  for (const b of removed) {
    if (b.shortcut !== null) {
      throw new Error(`pruneBlocks: block ${blocks.indexOf(b)} ('${b.name}') has a projection shortcut ` +
        `('${b.shortcut.name}'), so removing it would change the shape: keep it.`);
    }
  }
  const gone = new Set(removed.map((b) => b.name));
  const config = JSON.parse(JSON.stringify(model.getConfig())) as serialization.ConfigDict;
  config.name = optional(args.name, `${model.name}_pruned`, 'pruneBlocks: name');
  const isSequential = model.getClassName() === 'Sequential';
  if (isSequential) {
    config.layers = (config.layers as unknown as {config: {name: string}}[]).filter((l) => !gone.has(l.config.name)) as never;
  } else {
    const entries = config.layers as unknown as LayerEntry[];
    // Where each removed block's output came from: its (single) input.
    const source = new Map<string, NodeRef>();
    for (const e of entries) {
      if (!gone.has(e.name)) continue;
      if (e.inboundNodes.length !== 1 || e.inboundNodes[0]?.length !== 1) {
        throw new Error(`pruneBlocks: block '${e.name}' is applied ${e.inboundNodes.length} times; only blocks applied once can be removed.`);
      }
      source.set(e.name, e.inboundNodes[0][0] as NodeRef);
    }
    const resolve = (ref: NodeRef): NodeRef => {
      let r = ref;
      while (source.has(r[0])) r = source.get(r[0]) as NodeRef;
      return r;
    };
    const kept = entries.filter((e) => !gone.has(e.name));
    for (const e of kept) e.inboundNodes = e.inboundNodes.map((node) => node.map((ref) => {
      const to = resolve(ref);
      return [to[0], to[1], to[2], ref[3]] as NodeRef;
    }));
    config.layers = kept as never;
    config.outputLayers = (config.outputLayers as unknown as NodeRef[]).map(resolve) as never;
  }
  const [cls, fromConfig] = serialization.SerializationMap.getMap().classNameMap[model.getClassName()] as unknown as
    [unknown, (c: unknown, config: serialization.ConfigDict, custom: object, fast: boolean) => LayersModel];
  const pruned = fromConfig(cls, config, {}, false);
  for (const layer of pruned.layers) {
    const weights = model.getLayer(layer.name).getWeights();
    if (weights.length) layer.setWeights(weights);
  }
  return pruned;
}
