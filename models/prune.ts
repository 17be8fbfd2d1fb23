/**
 * Depth on demand (LayerDrop-style pruning, Fan et al. 2019,
 * arXiv 1909.11556): a network trained with stochastic depth still works with
 * some residual branches removed. `pruneBlocks` builds that shallower network.
 */
import {serialization} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {LayersModel, Sequential, layers} from '@tensorflow/tfjs-layers';

import {prepareTrainingLike} from './fast_blocks';
import {StochasticResidual} from '../layers/stochastic_residual';
import {allNestedLayers} from './find_layers';
import {analyzeBlocks, isContainer} from './blocks';
import type {BlockInfo} from './blocks';
import {ownedLayers, owners} from '../src/internal/walk';
import type {DropLayer, SampleDropout} from './find_layers';
import {checkKeys, checkPositiveInt, describe, optional} from '../src/internal/validate';

type Layer = InstanceType<typeof layers.Layer>;

/** Which blocks to keep: indices in depth order (as `dropPathSummary` lists them), or a predicate. */
export type KeepSpec = readonly number[] | ((index: number, block: DropLayer | SampleDropout) => boolean);

export interface PruneArgs {
  /** The blocks to keep: 0-based indices among the model's drop layers in depth order, or a predicate. */
  keep: KeepSpec;
  /** Name of the new model. Default `${model.name}_pruned`. */
  name?: string;
}

/** A predicate keeping every n-th block (0, n, 2n, …); `keepEvery(2)` keeps every other block, as fairseq recommends. */
export function keepEvery(n: number): (index: number) => boolean {
  checkPositiveInt(n, 'keepEvery: n');
  return (index) => index % n === 0;
}

/**
 * Returns a NEW model in which the branches of the blocks not listed in
 * `keep` are removed: a removed block's output is its shortcut's output (the
 * input itself for an identity shortcut). Blocks are the model's DropPath and
 * StochasticResidual layers in depth order, nested models included — the rows
 * of `dropPathSummary`, whose `removable` column says which can go. The new
 * model gets copies of the trained weights and each layer's training path
 * (fast or stock, see `useFastBlocks`); the original is untouched. Throws
 * when asked to remove a block it cannot (naming it and why), and when the
 * model has no removable block at all — never a silent copy.
 *
 * @example
 * const half = dp.pruneBlocks(model, {keep: dp.keepEvery(2)});
 */
export function pruneBlocks(model: LayersModel, args: PruneArgs): LayersModel {
  if (!isContainer(model) || typeof (model as {getConfig?: unknown}).getConfig !== 'function') {
    throw new Error(`pruneBlocks: model must be a tf.LayersModel, but received ${describe(model)}.`);
  }
  if (args === null || typeof args !== 'object') {
    throw new Error(`pruneBlocks: args must be an object {keep}, but received ${describe(args)}.`);
  }
  checkKeys(args, ['keep', 'name'], 'pruneBlocks(model, args)');
  const blocks = analyzeBlocks(model);
  if (!blocks.some((b) => b.notRemovable === null)) {
    throw new Error(`pruneBlocks: model '${model.name}' has no block whose branch can be removed ` +
      `(${blocks.length === 0 ? 'it has no DropPath or StochasticResidual layer' :
        blocks.map((b) => `'${b.layer.name}': ${b.notRemovable}`).join('; ')}).`);
  }
  const keepSet = resolveKeep(args.keep, blocks);
  const removed = blocks.filter((_, i) => !keepSet.has(i));
  for (const b of removed) {
    if (b.notRemovable !== null) {
      throw new Error(`pruneBlocks: block ${blocks.indexOf(b)} ('${b.layer.name}') cannot be removed: ${b.notRemovable}; keep it.`);
    }
  }
  const config = JSON.parse(JSON.stringify(model.getConfig())) as serialization.ConfigDict;
  config.name = optional(args.name, `${model.name}_pruned`, 'pruneBlocks: name');
  const extracted = new Map<string, Layer>();
  const targets = new Set(removed.map((b) => b.layer as Layer));
  // The layers that hold a target below them (each target's owners, up to the model): found once, in one walk.
  const parent = owners(model);
  const holders = new Set<Layer>();
  for (const t of targets) for (let p = parent.get(t); p; p = parent.get(p)) holders.add(p);
  rewriteContainer(model, config, targets, holders, extracted);
  return rebuild(model, config, extracted);
}

/** Step 1: the indices of the blocks to keep, validated. */
function resolveKeep(keep: KeepSpec, blocks: BlockInfo[]): Set<number> {
  const keepSet = new Set<number>();
  if (typeof keep === 'function') {
    blocks.forEach((b, i) => { if (keep(i, b.layer)) keepSet.add(i); });
  } else if (Array.isArray(keep)) {
    for (const i of keep) {
      if (!Number.isInteger(i) || i < 0 || i >= blocks.length) {
        throw new Error(`pruneBlocks: keep must list block indices from 0 to ${blocks.length - 1} ` +
          `(the model has ${blocks.length} DropPath / StochasticResidual blocks), but received ${describe(i)}.`);
      }
      if (keepSet.has(i)) throw new Error(`pruneBlocks: keep lists block ${i} twice.`);
      keepSet.add(i);
    }
  } else {
    throw new Error(`pruneBlocks: keep must be an array of block indices or a predicate, but received ${describe(keep)}.`);
  }
  return keepSet;
}

type NodeRef = [string, number, number, unknown?];
interface FunctionalEntry {name: string; className: string; config: serialization.ConfigDict; inboundNodes: NodeRef[][]}
interface SequentialEntry {className: string; config: serialization.ConfigDict}
interface Nested {className: string; config: serialization.ConfigDict}

/** Step 2: rewrites `config` (the config of `container`) without the branches of `targets`, recursing into nested models. */
function rewriteContainer(container: LayersModel, config: serialization.ConfigDict, targets: Set<Layer>,
    holders: Set<Layer>, extracted: Map<string, Layer>): void {
  const sequential = container.getClassName() === 'Sequential';
  const entries = config.layers as unknown as (FunctionalEntry | SequentialEntry)[];
  const entryOf = (name: string) => entries.find((e) => ((e as FunctionalEntry).name ?? e.config.name) === name);
  for (const layer of ownedLayers(container)) {
    if (targets.has(layer) || !holders.has(layer)) continue;
    const entry = entryOf(layer.name);
    if (!entry) throw new Error(`pruneBlocks: internal error: no config entry for layer '${layer.name}'.`);
    if (isContainer(layer)) {
      rewriteContainer(layer, entry.config, targets, holders, extracted);
    } else if (layer instanceof StochasticResidual) {
      for (const [child, field] of [[layer.branch, 'branch'], [layer.shortcut, 'shortcut']] as const) {
        if (child && isContainer(child) && (targets.has(child) || holders.has(child))) {
          rewriteContainer(child, (entry.config[field] as unknown as Nested).config, targets, holders, extracted);
        }
      }
    }
  }
  const mine = ownedLayers(container).filter((l) => targets.has(l));
  if (mine.length === 0) return;
  if (sequential) {
    rewriteSequential(entries as SequentialEntry[], mine as StochasticResidual[], extracted);
  } else {
    rewriteFunctional(config, entries as FunctionalEntry[], mine, extracted);
  }
}

/** The nested {className, config} of a StochasticResidual's shortcut, as a layer entry of its own. */
function shortcutEntry(block: StochasticResidual, entryConfig: serialization.ConfigDict, extracted: Map<string, Layer>): Nested {
  const nested = entryConfig.shortcut as unknown as Nested;
  extracted.set(block.shortcut!.name, block.shortcut!);
  return nested;
}

function rewriteSequential(entries: SequentialEntry[], blocks: StochasticResidual[], extracted: Map<string, Layer>): void {
  for (const block of blocks) {
    const index = entries.findIndex((e) => e.config.name === block.name);
    const entry = entries[index] as SequentialEntry;
    const inputShape = entry.config.batchInputShape;
    if (block.shortcut) {
      const replacement = shortcutEntry(block, entry.config, extracted);
      entries.splice(index, 1, replacement);
    } else {
      entries.splice(index, 1);
    }
    // The first layer of a Sequential carries the model's input shape.
    const next = entries[index];
    if (index === 0 && inputShape !== undefined && next) next.config.batchInputShape = inputShape;
  }
}

function rewriteFunctional(config: serialization.ConfigDict, entries: FunctionalEntry[], blocks: Layer[],
    extracted: Map<string, Layer>): void {
  const replace = new Map<string, NodeRef>();
  const drop = new Set<string>();
  let list = entries;
  for (const block of blocks) {
    const entry = list.find((e) => e.name === block.name) as FunctionalEntry;
    if (block instanceof StochasticResidual) {
      if (block.shortcut) {
        const nested = shortcutEntry(block, entry.config, extracted);
        const name = block.shortcut.name;
        if (list.some((e) => e.name === name)) {
          throw new Error(`pruneBlocks: cannot put the shortcut '${name}' of block '${block.name}' in its place: ` +
            'the model already has a layer of that name.');
        }
        list = list.map((e) => (e === entry ? {name, className: nested.className, config: nested.config, inboundNodes: entry.inboundNodes} : e));
        // A model in the graph keeps its own construction as node 0: its call here is node 1.
        replace.set(block.name, [name, isContainer(block.shortcut) ? 1 : 0, 0]);
      } else {
        replace.set(block.name, entry.inboundNodes[0]?.[0] as NodeRef);
        drop.add(block.name);
      }
    } else {
      // x + DropPath(branch(x)): the Add becomes its other input.
      const add = list.find((e) => e.inboundNodes.some((node) => node.some((ref) => ref[0] === block.name))) as FunctionalEntry;
      const other = (add.inboundNodes[0] as NodeRef[]).find((ref) => ref[0] !== block.name) as NodeRef;
      replace.set(add.name, other);
      drop.add(add.name);
      drop.add(block.name);
    }
  }
  const resolve = (ref: NodeRef): NodeRef => {
    let r = ref;
    while (replace.has(r[0])) {
      const to = replace.get(r[0]) as NodeRef;
      r = [to[0], to[1], to[2], ref[3]];
    }
    return r;
  };
  list = list.filter((e) => !drop.has(e.name));
  for (const e of list) e.inboundNodes = e.inboundNodes.map((node) => node.map(resolve));
  const outputs = (config.outputLayers as unknown as NodeRef[]).map(resolve);
  // Keep what the outputs still use (the branch that fed only a removed DropPath goes), and the inputs.
  const byName = new Map(list.map((e) => [e.name, e]));
  const used = new Set<string>((config.inputLayers as unknown as NodeRef[]).map((r) => r[0]));
  const visited = new Set<string>();
  const stack = outputs.map((r) => r[0]);
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (visited.has(name)) continue;
    visited.add(name);
    used.add(name);
    for (const node of byName.get(name)?.inboundNodes ?? []) for (const ref of node) stack.push(ref[0]);
  }
  config.layers = list.filter((e) => used.has(e.name)) as never;
  config.outputLayers = outputs as never;
}

/** Step 3: builds the new model from its config and copies the trained weights into it. */
function rebuild(model: LayersModel, config: serialization.ConfigDict, extracted: Map<string, Layer>): LayersModel {
  const cls = model instanceof Sequential ? Sequential : LayersModel;
  const pruned = cls.fromConfig(cls as never, config) as unknown as LayersModel;
  const values = new Map<string, Tensor>(model.weights.map((w) => [w.originalName, w.read()]));
  const set = new Set<string>();
  const tuples: [Layer, Tensor[]][] = [];
  // A shortcut lifted out of its block may have its weights under new names: copy it whole (and look no deeper).
  const liftedFrom = (layer: Layer) => {
    const source = extracted.get(layer.name);
    return source && layer.getClassName() === source.getClassName() ? source : undefined;
  };
  for (const layer of allNestedLayers(pruned, (l) => !liftedFrom(l))) {
    const source = liftedFrom(layer);
    if (!source) continue;
    tuples.push([layer, source.getWeights()]);
    for (const w of layer.weights) set.add(w.originalName);
  }
  for (const [layer, weights] of tuples) layer.setWeights(weights);
  for (const w of pruned.weights) {
    if (set.has(w.originalName)) continue;
    const value = values.get(w.originalName);
    if (!value) {
      pruned.dispose();
      throw new Error(`pruneBlocks: the pruned model has a weight '${w.originalName}' that the original model does not ` +
        'have, so it could not be given its trained value.');
    }
    w.write(value);
    set.add(w.originalName);
  }
  // New layer instances: each takes the training path and the frozen-BatchNorm rule its original had (and the
  // crash guard where it needs it).
  prepareTrainingLike(pruned, model);
  return pruned;
}
