/**
 * The residual blocks of a model, as pruning and the summary see them: every
 * drop layer in depth order, whether its branch can be removed, and which
 * layers make up its branch and projection shortcut. Read-only: nothing here
 * changes a model.
 */
import type {LayersModel} from '@tensorflow/tfjs-layers';
import {layers} from '@tensorflow/tfjs-layers';

import {StochasticResidual} from '../layers/stochastic_residual';
import {allNestedLayers, callCount, consumersOf, inputsOf, isModel, owners, upstreamOf} from '../src/internal/walk';
import {findStochasticDepthLayers} from './find_layers';
import type {DropLayer, SampleDropout} from './find_layers';

type Layer = InstanceType<typeof layers.Layer>;

export const isContainer = (l: unknown): l is LayersModel => l instanceof layers.Layer && isModel(l);

/** One drop layer of a model and whether pruneBlocks can remove its branch. */
export interface BlockInfo {
  /** This package's drop layer, or a Keras stochastic-depth Dropout (listed, scheduled and prunable alike). */
  layer: DropLayer | SampleDropout;
  /** Null when removable; otherwise why not. */
  notRemovable: string | null;
}

/**
 * Every drop layer of `model` in depth order (the order of `dropPathSummary`
 * and of `keep` indices), each with whether its branch can be removed:
 * - a StochasticResidual applied once, in a functional or Sequential model
 *   (nested ones included): it is replaced by its shortcut (nothing, for the
 *   identity; the projection otherwise);
 * - a DropPath in the residual form x + DropPath(branch(x)) — applied once, its output
 *   feeding only a two-input Add — in a functional model: the Add becomes its
 *   other input, and the layers that fed only the DropPath go with it.
 */
export function analyzeBlocks(model: Layer): BlockInfo[] {
  const parent = owners(model);
  return findStochasticDepthLayers(model).map((layer) => ({layer, notRemovable: whyNotRemovable(layer, parent.get(layer))}));
}

function whyNotRemovable(layer: DropLayer | SampleDropout, owner: Layer | undefined): string | null {
  if (owner instanceof StochasticResidual) return `it is the ${owner.branch === layer ? 'branch' : 'shortcut'} of block '${owner.name}'`;
  if (!owner || !isContainer(owner)) return 'it is not inside a model';
  if (callCount(layer) !== 1) return `it is applied ${callCount(layer)} times`;
  if (layer instanceof StochasticResidual) return null;
  if (owner.getClassName() === 'Sequential') return 'a DropPath in a Sequential model has no residual Add to remove it from';
  const consumers = consumersOf(layer);
  const add = consumers[0];
  if (consumers.length !== 1 || !add || add.getClassName() !== 'Add' || callCount(add) !== 1 ||
      inputsOf(add).length !== 2) {
    return 'its output does not feed exactly one two-input Add (the residual form x + DropPath(branch(x)))';
  }
  if (owner.outputs.some((o) => o.sourceLayer === layer)) return 'it is an output of the model';
  return null;
}

/** The layers of a block's branch (and projection shortcut): nested for StochasticResidual, from the graph for DropPath. */
export function blockLayers(layer: Layer): Layer[] {
  if (layer instanceof StochasticResidual) return allNestedLayers(layer);
  const consumers = consumersOf(layer);
  const add = consumers.length === 1 ? consumers[0] : undefined;
  const addInputs = add?.getClassName() === 'Add' && callCount(add) === 1 ? inputsOf(add) : [];
  const shortcut = addInputs.find((l) => l !== layer);
  if (addInputs.length !== 2 || !shortcut) return [];
  const feedsBranch = upstreamOf(layer);
  const feedsShortcut = upstreamOf(shortcut);
  // The branch: what feeds the drop but not the shortcut; a projection: what feeds the add's other side but not the branch.
  const branch = [...feedsBranch].filter((l) => !feedsShortcut.has(l) && l !== shortcut);
  const projection = [shortcut, ...feedsShortcut].filter((l) => !feedsBranch.has(l));
  return [...branch, ...projection];
}
