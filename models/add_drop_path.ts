/**
 * Stochastic depth for the model a user already has: `addDropPath` finds the
 * residual blocks of any tf.layers model by its graph (never by layer names)
 * and returns a new model with a drop on each branch, every weight carried
 * over; `setDropPathRates` changes the rates of a model's drop layers in place.
 *
 * A residual block is an `Add` of two paths from one tensor x: the identity
 * (one input of the Add is x itself) or a projection of x (the shorter path),
 * and a branch (the other). Drop layers already on a branch — this package's
 * DropPath, ConvNeXt's StochasticDepth read as DropPath, EfficientNet's
 * `Dropout` with noise shape [null, 1, 1, 1] — get their rate set, never a
 * second drop beside them; ConvNeXt's identity placeholders
 * (`Activation('linear')`) are replaced by the drop. StochasticResidual blocks
 * are found as blocks of their own.
 */
import {LayersModel, Sequential, layers} from '@tensorflow/tfjs-layers';
import type {serialization} from '@tensorflow/tfjs-core';

import {StochasticResidual} from '../layers/stochastic_residual';
import {blockRates} from '../src/schedules';
import type {DepthScheduleName} from '../src/schedules';
import {deriveSeed} from '../src/internal/seeds';
import {checkBoolean, checkKeys, checkMode, checkOneOf, checkRate, checkSeed, describe} from '../src/internal/validate';
import {allNestedLayers, callCount, callInputs, consumersOf, inputsOf, isModel, ownedLayers, shapeOf, upstreamOf} from '../src/internal/walk';
import type {TensorRef} from '../src/internal/walk';
import type {DropMode} from '../src/types';
import {prepareTrainingLike} from './fast_blocks';
import {isDropLayer, isSampleDropout} from './find_layers';

type Layer = InstanceType<typeof layers.Layer>;

export interface AddDropPathArgs {
  /** The deepest block's drop rate; the others follow `schedule`. */
  rate?: number;
  /** One rate per block found (or per block of `blocks`), in graph order, instead of `rate` and `schedule`. */
  rates?: readonly number[];
  /** How rates spread over the blocks in graph order: 'linspace' (timm, ConvNeXt; the default), 'linear' (Huang et al.), 'uniform'. */
  schedule?: DepthScheduleName;
  /** Only these blocks (indices in graph order, as the report lists them); the others are left as they are. */
  blocks?: readonly number[];
  /** DropPath granularity of inserted drops: 'row' (default) or 'batch'. */
  mode?: DropMode;
  /** Scale kept samples by 1/(1 − rate) (default true). */
  scaleByKeep?: boolean;
  /**
   * How a drop is carried out: 'mask' (default), a DropPath on the branch before the add; 'skip', the
   * block becomes a StochasticResidual that does not compute the dropped samples' branch (refused, naming
   * each block and why, where a branch cannot be cut out as a sub-model); 'auto', 'skip' where it can and
   * 'mask' elsewhere.
   */
  strategy?: 'mask' | 'skip' | 'auto';
  /** Seed of the inserted drops' streams (each block its own). */
  seed?: number;
  /** Name of the new model; default the input model's. */
  name?: string;
}

/** One residual block found, and what addDropPath did with it. */
export interface ResidualBlock {
  /** Index in graph order. */
  index: number;
  /** The model (or nested model) it lives in. */
  container: string;
  /** The Add that closes the block (the StochasticResidual itself for such a block). */
  add: string;
  /** The layer whose output is the branch's (before any drop). */
  branch: string;
  shortcut: 'identity' | 'projection' | 'stochasticResidual';
  /** The drop layer the block had already, if any. */
  existing: string | null;
  /**
   * 'inserted' (a new DropPath), 'replaced' (a placeholder became the DropPath), 'set' (an existing drop's
   * rate), 'skip' (the block became a StochasticResidual), 'kept' (not selected).
   */
  action: 'inserted' | 'replaced' | 'set' | 'skip' | 'kept';
  /** With strategy 'auto': why a block could not skip (it was masked instead). */
  note?: string;
  /** The block's rate after addDropPath (for 'kept', what it had: 0 without a drop). */
  rate: number;
}

export interface AddDropPathResult {
  model: LayersModel;
  blocks: ResidualBlock[];
  /** The blocks as a table. */
  text: string;
}

const ADD_KEYS = ['rate', 'rates', 'schedule', 'blocks', 'mode', 'scaleByKeep', 'strategy', 'seed', 'name'];

/** A drop already on a branch: its layer and the config field that holds its rate. */
function existingDrop(layer: Layer): {field: string; rate: number} | null {
  if (isDropLayer(layer)) return {field: 'rate', rate: layer.rate};
  if (isSampleDropout(layer)) return {field: 'rate', rate: layer.rate}; // EfficientNet's stochastic depth: one draw per sample
  const cls = layer.getClassName();
  const l = layer as unknown as {dropRate?: number; form?: string};
  if (cls === 'StochasticDepth' && l.form === 'perSample') return {field: 'dropPathRate', rate: l.dropRate ?? 0};
  return null;
}

/** An identity placeholder where a drop would be (ConvNeXt's `*_identity`): an Activation 'linear' called once. */
function isPlaceholder(layer: Layer): boolean {
  const act = (layer as {activation?: {getClassName?: () => string}}).activation?.getClassName?.();
  return layer.getClassName() === 'Activation' && act === 'linear' && callCount(layer) === 1;
}

interface Found {
  container: Layer;
  add: Layer;
  /** The branch end as the Add takes it: [layer, node index, tensor index]. */
  branch: [Layer, number, number];
  shortcut: ResidualBlock['shortcut'];
  /** The tensor both paths start from, x (for a StochasticResidual: its own input, unused). */
  start: TensorRef;
}

/**
 * The latest layer two paths both depend on (`upA`, `upB`: their upstream sets), by the container's
 * topological order — provided every other layer they share lies before it, as in a residual block.
 */
function latestCommon(upA: Set<Layer>, upB: Set<Layer>, position: Map<Layer, number>): {x: Layer; shared: number} | null {
  let x: Layer | undefined;
  let shared = 0;
  for (const l of upA) {
    if (!upB.has(l)) continue;
    shared++;
    if (x === undefined || (position.get(l) ?? -1) > (position.get(x) ?? -1)) x = l;
  }
  if (!x) return null;
  const beforeX = upstreamOf(x);
  for (const l of upA) if (upB.has(l) && l !== x && !beforeX.has(l)) return null;
  return {x, shared};
}

/** The residual blocks of one functional model (not its nested ones), in the order of its layers. */
function blocksOf(container: LayersModel): Found[] {
  const found: Found[] = [];
  if (container instanceof Sequential) return found;
  const position = new Map(container.layers.map((l, i) => [l, i]));
  for (const layer of container.layers) {
    if (layer.getClassName() !== 'Add' || callCount(layer) !== 1) continue;
    const refs = callInputs(layer);
    if (refs.length !== 2) continue;
    const [a, b] = refs.map((r) => r[0]) as [Layer, Layer];
    const upA = upstreamOf(a);
    const upB = upstreamOf(b);
    if (upB.has(a)) {
      found.push({container, add: layer, branch: refs[1] as TensorRef, shortcut: 'identity', start: refs[0] as TensorRef});
    } else if (upA.has(b)) {
      found.push({container, add: layer, branch: refs[0] as TensorRef, shortcut: 'identity', start: refs[1] as TensorRef});
    } else {
      // Two paths from one tensor: x is the latest layer both depend on; the branch is the longer path from it.
      const common = latestCommon(upA, upB, position);
      if (!common) continue;
      const sideA = 1 + upA.size - common.shared;
      const sideB = 1 + upB.size - common.shared;
      if (sideA === sideB) continue; // no way to tell the branch from the shortcut: not taken as a residual block
      found.push({container, add: layer, branch: (sideA > sideB ? refs[0] : refs[1]) as TensorRef, shortcut: 'projection',
        start: [common.x, 0, 0]});
    }
  }
  return found;
}

/** Every residual block under `model`, in graph order: nested models at their place, StochasticResidual blocks included. */
function findBlocks(model: LayersModel): Found[] {
  const out: Found[] = [];
  const visit = (container: Layer) => {
    const mine = isModel(container) ? blocksOf(container as LayersModel) : [];
    for (const layer of ownedLayers(container)) {
      if (layer instanceof StochasticResidual) {
        out.push({container, add: layer, branch: [layer, 0, 0], shortcut: 'stochasticResidual', start: [layer, 0, 0]});
      } else if (isModel(layer)) {
        visit(layer);
      }
      for (const f of mine.filter((m) => m.add === layer)) out.push(f);
    }
  };
  visit(model);
  return out;
}

type NodeRef = [string, number, number, unknown?];
interface Entry {name: string; className: string; config: serialization.ConfigDict; inboundNodes: NodeRef[][]}

/** The config entries of `container` inside the whole model's config (nested ones by their path). */
function entriesOf(root: serialization.ConfigDict, rootModel: Layer, container: Layer): Entry[] {
  const path: Layer[] = [];
  const find = (at: Layer): boolean => {
    if (at === container) return true;
    for (const child of ownedLayers(at)) {
      if (isModel(child) && find(child)) {
        path.unshift(child);
        return true;
      }
    }
    return false;
  };
  find(rootModel);
  let config = root;
  for (const step of path) {
    const entry = (config.layers as unknown as Entry[]).find((e) => (e.name ?? e.config.name) === step.name) as Entry;
    config = entry.config;
  }
  return config.layers as unknown as Entry[];
}

/** A layer name not yet used anywhere in the model. */
function freshName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function checkArgs(args: AddDropPathArgs | undefined) {
  const a = checkKeys(args, ADD_KEYS, 'addDropPath(model, args)');
  if (a.rate === undefined && a.rates === undefined) {
    throw new Error('addDropPath: give rate (the deepest block\'s drop rate) or rates (one per block), but received neither.');
  }
  if (a.rate !== undefined && a.rates !== undefined) throw new Error('addDropPath: give rate or rates, not both.');
  if (a.rates !== undefined && a.schedule !== undefined) throw new Error('addDropPath: rates gives every block its rate; drop schedule.');
  if (a.rate !== undefined) checkRate(a.rate, 'addDropPath: rate');
  if (a.rates !== undefined && !Array.isArray(a.rates)) {
    throw new Error(`addDropPath: rates must be an array of rates, one per block, but received ${describe(a.rates)}.`);
  }
  return {
    ...a,
    schedule: checkOneOf(a.schedule ?? 'linspace', ['linspace', 'linear', 'uniform'] as const, 'addDropPath: schedule'),
    mode: checkMode(a.mode ?? 'row', 'addDropPath: mode'),
    scaleByKeep: checkBoolean(a.scaleByKeep ?? true, 'addDropPath: scaleByKeep'),
    strategy: checkOneOf(a.strategy ?? 'mask', ['mask', 'skip', 'auto'] as const, 'addDropPath: strategy'),
    seed: checkSeed(a.seed, 'addDropPath: seed'),
  };
}

/** The shortcut end of a block: the Add's other input. */
function shortcutEnd(f: Found): [Layer, number, number] {
  const refs = callInputs(f.add);
  const k = refs[0]?.[0] === f.branch[0] && refs[0]?.[1] === f.branch[1] ? 1 : 0;
  return refs[k] as TensorRef;
}

/** The block's input x as [layer, node, tensor], and the layers of its branch and projection (in model order). */
function cutBlock(f: Found, order: Layer[]): {x: [Layer, number, number]; branch: Layer[]; projection: Layer[]} | string {
  const [end] = f.branch;
  const short = shortcutEnd(f);
  const x = f.start;
  if (f.shortcut === 'projection' && callCount(x[0]) !== 1) return 'its input is not the one output of one layer';
  const before = new Set([x[0], ...upstreamOf(x[0])]);
  const side = (last: Layer) => {
    const feeds = upstreamOf(last);
    return order.filter((l) => (l === last || feeds.has(l)) && !before.has(l));
  };
  const branch = side(end);
  const projection = f.shortcut === 'projection' ? side(short[0]) : [];
  const inside = new Set([...branch, ...projection]);
  for (const l of inside) {
    if (callCount(l) !== 1) return `its layer '${l.name}' is applied ${callCount(l)} times`;
    if (l.getClassName() === 'InputLayer') return `its layer '${l.name}' is an input of the model`;
    const outside = consumersOf(l).find((c) => c !== f.add && !inside.has(c));
    if (outside) return `its layer '${l.name}' also feeds '${outside.name}', outside the block`;
    const from = inputsOf(l).find((i) => i !== x[0] && !inside.has(i));
    if (from) return `its layer '${l.name}' takes an input from '${from.name}', outside the block`;
  }
  if (branch.some((l) => projection.includes(l))) return 'its branch and shortcut share layers';
  return {x, branch, projection};
}

/** A functional sub-model config of `layers` (entries copied) fed by a new input in place of x. */
function subModel(name: string, layers: Layer[], end: [Layer, number, number], x: [Layer, number, number], entries: Entry[],
    taken: Set<string>): serialization.ConfigDict {
  const input = freshName(`${name}_input`, taken);
  const shape = shapeOf(x);
  const copy = layers.map((l) => JSON.parse(JSON.stringify(entries.find((e) => (e.name ?? e.config.name) === l.name))) as Entry);
  for (const e of copy) {
    e.inboundNodes = e.inboundNodes.map((n) => n.map((ref) => (ref[0] === x[0].name && ref[1] === x[1] && ref[2] === x[2] ?
      [input, 0, 0, ref[3] ?? {}] : ref)));
  }
  return {className: 'Model', config: {name: freshName(name, taken), layers: [
    {name: input, className: 'InputLayer', config: {batchInputShape: shape, dtype: 'float32', sparse: false, name: input}, inboundNodes: []},
    ...copy], inputLayers: [[input, 0, 0]], outputLayers: [[end[0].name, end[1], end[2]]]}} as never;
}

/** The rate each selected block gets, checked: one per block, from `rates` or from the schedule up to `rate`. */
function ratesFor(args: ReturnType<typeof checkArgs>, count: number): number[] {
  if (args.rates !== undefined) {
    if (args.rates.length !== count) {
      throw new Error(`addDropPath: rates must give one rate per block (${count}), but gives ${args.rates.length}.`);
    }
    return args.rates.map((r, i) => checkRate(r, `addDropPath: rates[${i}]`));
  }
  return blockRates(args.schedule, count, args.rate as number, 'addDropPath: schedule');
}

/** The report as a table. */
function table(blocks: ResidualBlock[]): string {
  const head = ['#', 'model', 'add', 'branch ends at', 'shortcut', 'action', 'rate'];
  const rows = blocks.map((b) => [String(b.index), b.container, b.add, b.branch, b.shortcut, b.action, b.rate.toFixed(4)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `${blocks.length} residual block${blocks.length === 1 ? '' : 's'}`].join('\n');
}

/**
 * A new model with stochastic depth on the residual branches of `model` (the
 * input model is untouched): the rates follow a depth schedule over the blocks
 * in graph order (`linspace(0, rate, n)` by default, as timm and ConvNeXt),
 * or `rates` gives one per block. Every weight is carried over unchanged, so
 * inference predictions equal the input model's; each layer keeps its
 * training path. Resolves with the model and the blocks found.
 *
 * @example
 * const {model: withDrop, text} = dp.addDropPath(model, {rate: 0.1});
 * console.log(text);   // the residual blocks, their rates and what was done
 */
export function addDropPath(model: LayersModel, args: AddDropPathArgs): AddDropPathResult {
  if (!(model instanceof LayersModel)) {
    throw new Error(`addDropPath: model must be a tf.LayersModel, but received ${describe(model)}.`);
  }
  const a = checkArgs(args);
  const found = findBlocks(model);
  if (found.length === 0) {
    throw new Error(`addDropPath: no residual branch found in model '${model.name}': looked at its ${allNestedLayers(model).length} ` +
      'layers (nested models included) for an Add of two paths from one tensor (the identity or a projection, and a branch) ' +
      'and for StochasticResidual blocks.');
  }
  const selected = a.blocks === undefined ? found.map((_, i) => i) : [...a.blocks];
  selected.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= found.length) {
      throw new Error(`addDropPath: blocks must list block indices from 0 to ${found.length - 1}, but received ${describe(i)}.`);
    }
  });
  if (new Set(selected).size !== selected.length) throw new Error('addDropPath: blocks lists a block twice.');
  const rates = ratesFor(a, selected.length);
  const rateOf = new Map(selected.map((i, k) => [i, rates[k] as number]));

  const config = model.getConfig() as serialization.ConfigDict;
  const taken = new Set([model.name, ...allNestedLayers(model).map((l) => l.name)]);
  const report: ResidualBlock[] = [];
  const refusals: string[] = [];
  const order = allNestedLayers(model);
  found.forEach((f, index) => {
    const [end, nodeIndex, tensorIndex] = f.branch;
    const entries = entriesOf(config, model, f.container);
    const entryOf = (name: string) => entries.find((e) => (e.name ?? e.config.name) === name);
    const existing = f.shortcut === 'stochasticResidual' ? {field: 'rate', rate: (end as StochasticResidual).rate} : existingDrop(end);
    const base = {index, container: f.container.name, add: f.add.name, branch: end.name, shortcut: f.shortcut,
      existing: existing ? end.name : null};
    const rate = rateOf.get(index);
    if (rate === undefined) {
      report.push({...base, action: 'kept', rate: existing?.rate ?? 0});
      return;
    }
    const drop = (name: string) => ({name, trainable: true, dtype: 'float32', rate, mode: a.mode, scaleByKeep: a.scaleByKeep,
      ...(a.seed !== undefined ? {seed: deriveSeed(a.seed, 'add_drop_path', index)} : {})});
    let note: string | undefined;
    if (a.strategy !== 'mask' && f.shortcut !== 'stochasticResidual') {
      // The branch (without a drop or placeholder at its end: the wrapper drops) and a projection, cut out as sub-models.
      const strip = existing || isPlaceholder(end);
      const cut = cutBlock(f, order);
      const branchEnd: TensorRef | null = strip ? callInputs(end)[0] ?? null : f.branch;
      if (typeof cut === 'string' || !branchEnd) {
        const why = typeof cut === 'string' ? cut : 'its branch is only a drop';
        if (a.strategy === 'skip') refusals.push(`block ${index} ('${f.add.name}'): ${why}`);
        note = `masked: ${why}`;
      } else {
        const branchLayers = strip ? cut.branch.filter((l) => l !== end) : cut.branch;
        const config = {strategy: 'skip', ...drop(f.add.name),
          branch: subModel(`${f.add.name}_branch`, branchLayers, branchEnd, cut.x, entries, taken),
          shortcut: cut.projection.length ? subModel(`${f.add.name}_shortcut`, cut.projection, shortcutEnd(f), cut.x, entries, taken) : null};
        const add = entryOf(f.add.name) as Entry;
        const gone = new Set([...cut.branch, ...cut.projection].map((l) => l.name));
        for (let i = entries.length - 1; i >= 0; i--) if (gone.has(entries[i]?.name as string)) entries.splice(i, 1);
        add.className = 'StochasticResidual';
        add.config = config as never;
        add.inboundNodes = [[[cut.x[0].name, cut.x[1], cut.x[2], {}]]];
        report.push({...base, action: 'skip', rate});
        return;
      }
    }
    if (existing) {
      (entryOf(end.name) as Entry).config[existing.field] = rate;
      report.push({...base, action: 'set', rate, ...(note ? {note} : {})});
    } else if (isPlaceholder(end)) {
      const entry = entryOf(end.name) as Entry;
      entry.className = 'DropPath';
      entry.config = drop(end.name) as never;
      report.push({...base, action: 'replaced', rate, ...(note ? {note} : {})});
    } else {
      const name = freshName(`${end.name}_drop_path`, taken);
      const add = entryOf(f.add.name) as Entry;
      add.inboundNodes = add.inboundNodes.map((n) => n.map((ref) => (ref[0] === end.name && ref[1] === nodeIndex && ref[2] === tensorIndex ?
        [name, 0, 0, ref[3] ?? {}] : ref)));
      entries.splice(entries.indexOf(add), 0, {name, className: 'DropPath', config: drop(name) as never,
        inboundNodes: [[[end.name, nodeIndex, tensorIndex, {}]]]});
      report.push({...base, action: 'inserted', rate, ...(note ? {note} : {})});
    }
  });
  if (refusals.length) {
    throw new Error(`addDropPath: strategy 'skip' cannot cut out the branch of ${refusals.length} block${refusals.length === 1 ? '' : 's'} ` +
      `as a sub-model (strategy 'auto' masks those instead):\n  ${refusals.join('\n  ')}`);
  }
  if (a.name !== undefined) config.name = a.name;
  const cls = model instanceof Sequential ? Sequential : LayersModel;
  const result = cls.fromConfig(cls as never, config) as unknown as LayersModel;
  // Every layer keeps its name (those cut into a StochasticResidual too): weights are copied layer by layer.
  const originals = new Map(allNestedLayers(model).map((l) => [l.name, l]));
  for (const layer of allNestedLayers(result)) {
    if (layer.weights.length === 0 || layer instanceof StochasticResidual || isModel(layer)) continue;
    const original = originals.get(layer.name);
    if (!original || original.weights.length !== layer.weights.length) {
      result.dispose();
      throw new Error(`addDropPath: internal error: layer '${layer.name}' of the new model has no counterpart with its weights.`);
    }
    layer.setWeights(original.getWeights());
  }
  // New layer instances: each takes the training path and the frozen-BatchNorm rule its original had (and the
  // crash guard where it needs it).
  prepareTrainingLike(result, model);
  return {model: result, blocks: report, text: table(report)};
}

/**
 * Sets the rates of `model`'s drop layers in place (saved with the model):
 * the blocks `addDropPath` finds that already have a drop, in graph order,
 * get `rates` (one each) or the schedule's rates up to `rate`.
 *
 * @example
 * dp.setDropPathRates(model, {rate: 0.2, schedule: 'linear'});
 */
export function setDropPathRates(model: LayersModel, args: {rate?: number; rates?: readonly number[]; schedule?: DepthScheduleName}):
    ResidualBlock[] {
  if (!(model instanceof LayersModel)) {
    throw new Error(`setDropPathRates: model must be a tf.LayersModel, but received ${describe(model)}.`);
  }
  const a = checkArgs(checkKeys(args, ['rate', 'rates', 'schedule'], 'setDropPathRates(model, args)'));
  const withDrop = findBlocks(model).filter((f) => f.shortcut === 'stochasticResidual' || existingDrop(f.branch[0]));
  if (withDrop.length === 0) throw new Error(`setDropPathRates: model '${model.name}' has no drop layer on a residual branch.`);
  const rates = ratesFor(a, withDrop.length);
  return withDrop.map((f, index) => {
    const layer = f.branch[0] as Layer & {rate: number};
    const rate = rates[index] as number;
    if (layer.getClassName() === 'StochasticDepth') {
      throw new Error(`setDropPathRates: '${layer.name}' is a StochasticDepth, whose rate is fixed; addDropPath replaces it.`);
    }
    layer.rate = rate;
    return {index, container: f.container.name, add: f.add.name, branch: layer.name, shortcut: f.shortcut, existing: layer.name,
      action: 'set' as const, rate};
  });
}
