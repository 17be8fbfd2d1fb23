/**
 * Fast residual blocks, model-wide: switch every BatchNormalization
 * and ReLU Activation of a model (nested models and
 * StochasticResidual branches included) to the fused training path, back, or
 * report which path each takes. The builders switch their own layers on at
 * build time; a model loaded from a file holds stock layers, and one call
 * switches it again.
 */
import {getBackend} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';

import {followsKerasFrozenBatchNorm, prepareTraining, setKerasFrozenBatchNorm, trainingPath, trainingPathReason, usesFastTraining}
  from '../layers/training_paths';
import type {TrainingPath} from '../layers/training_paths';
import {describe} from '../src/internal/validate';
import {allNestedLayers} from './find_layers';

type Layer = InstanceType<typeof layers.Layer>;

/** One BatchNormalization or Activation layer and the path its training calls take. */
export interface TrainingPathRow {
  name: string;
  className: 'BatchNormalization' | 'Activation' | 'LayerNormalization';
  path: TrainingPath;
  /** Why: the probe's verdict for 'fused' / 'portable', the reason a layer cannot be switched, or 'not switched'. */
  note: string;
}

export interface TrainingPathReport {
  rows: TrainingPathRow[];
  /** How many rows take each path. */
  counts: Record<TrainingPath, number>;
  /** The current backend's name. */
  backend: string;
  /** The table as text. */
  text: string;
}

const CANDIDATES = new Set(['BatchNormalization', 'Activation', 'LayerNormalization']);

function checkModel(model: unknown, where: string): Layer {
  if (!(model instanceof layers.Layer)) {
    throw new Error(`${where}: model must be a tf.LayersModel or a tf.layers Layer, but received ${describe(model)}.`);
  }
  return model;
}

/**
 * One row per BatchNormalization and Activation layer of `model` with the
 * path its training calls take on the current backend: 'fused', 'portable'
 * or 'stock' (see `TrainingPath`). `print` prints the table.
 *
 * @example
 * dp.trainingPaths(model).counts; // e.g. {fused: 33, portable: 0, stock: 1}
 */
export function trainingPaths(model: Layer, opts: {print?: boolean | ((line: string) => void)} = {}): TrainingPathReport {
  const root = checkModel(model, 'trainingPaths');
  const rows: TrainingPathRow[] = allNestedLayers(root).filter((l) => CANDIDATES.has(l.getClassName())).map((l) => {
    return {name: l.name, className: l.getClassName() as TrainingPathRow['className'], path: trainingPath(l),
      note: trainingPathReason(l)};
  });
  const counts: Record<TrainingPath, number> = {fused: 0, portable: 0, stock: 0};
  rows.forEach((r) => counts[r.path]++);
  const backend = getBackend();
  const notes = [...new Set(rows.filter((r) => r.path !== 'fused').map((r) => `${r.path}: ${r.note}`))];
  const text = [`training paths on backend '${backend}': ${counts.fused} fused, ${counts.portable} portable, ` +
    `${counts.stock} stock (of ${rows.length} BatchNormalization / LayerNormalization / Activation layers)`, ...notes.map((n) => `  ${n}`)].join('\n');
  if (opts.print) (typeof opts.print === 'function' ? opts.print : console.log)(text);
  return {rows, counts, backend, text};
}

/**
 * Switches every BatchNormalization (center and scale, channels last) and
 * every Activation 'relu' under `model` to the fast training path
 * (`enabled` true, the default) or back to tfjs-layers' stock calls (false),
 * and returns the resulting {@link trainingPaths} report. Other layers are
 * left as they are and listed as 'stock' with the reason. Saved models are
 * unchanged by this: the layers stay stock classes with stock configs.
 *
 * @example
 * const model = await tf.loadLayersModel('file://./model/model.json');
 * dp.useFastBlocks(model); // train it as fast as the builders' models
 */
export function useFastBlocks(model: Layer, enabled = true): TrainingPathReport {
  const root = checkModel(model, 'useFastBlocks');
  if (typeof enabled !== 'boolean') {
    throw new Error(`useFastBlocks: enabled must be a boolean, but received ${describe(enabled)}.`);
  }
  prepareModelTraining(root, enabled);
  return trainingPaths(root);
}

/**
 * The one call that prepares a whole model's training (every nested layer
 * through `prepareTraining`): the crash guard always, the fast path where
 * `fast` says (a boolean, or per layer). The builders' models, pruned models,
 * loaded Keras models (`fast` false: they train stock until `useFastBlocks`)
 * and `useFastBlocks` all go through it.
 */
export function prepareModelTraining(model: Layer, fast: boolean | ((layer: Layer) => boolean)): void {
  for (const layer of allNestedLayers(model)) prepareTraining(layer, typeof fast === 'function' ? fast(layer) : fast);
}

/**
 * A rebuilt model (new layer instances with the original's names: addDropPath, pruneBlocks) prepared as its
 * original was: each layer takes the training path its namesake had, and Keras' frozen-BatchNormalization rule
 * where its namesake followed it.
 */
export function prepareTrainingLike(rebuilt: Layer, original: Layer): void {
  const all = allNestedLayers(original);
  const fast = new Set(all.filter(usesFastTraining).map((l) => l.name));
  const frozen = new Set(all.filter(followsKerasFrozenBatchNorm).map((l) => l.name));
  prepareModelTraining(rebuilt, (layer) => fast.has(layer.name));
  for (const layer of allNestedLayers(rebuilt)) if (frozen.has(layer.name)) setKerasFrozenBatchNorm(layer, true);
}

/**
 * Keras' rule for frozen BatchNormalization on every BatchNormalization under `model` (`enabled` true, the
 * default) or tfjs' behaviour again (false); returns how many layers it applies to. Under Keras' rule (Keras 3,
 * tf.keras since 2.1) a BatchNormalization whose `trainable` is false runs in inference mode in training as well —
 * it normalizes with its moving statistics and leaves them unchanged — where tfjs-layers normalizes with the
 * batch's statistics and updates the moving ones. `trainable` is read at each call, so layers frozen later follow
 * it. loadKerasModel applies it to the models it reads; addDropPath and pruneBlocks keep it.
 *
 * @example
 * const model = await tf.loadLayersModel('file://./model/model.json');
 * dp.useKerasFrozenBatchNorm(model);
 * model.layers.forEach((l) => { if (l.getClassName() === 'BatchNormalization') l.trainable = false; });
 */
export function useKerasFrozenBatchNorm(model: Layer, enabled = true): number {
  const root = checkModel(model, 'useKerasFrozenBatchNorm');
  if (typeof enabled !== 'boolean') {
    throw new Error(`useKerasFrozenBatchNorm: enabled must be a boolean, but received ${describe(enabled)}.`);
  }
  let n = 0;
  for (const layer of allNestedLayers(root)) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    setKerasFrozenBatchNorm(layer, enabled);
    n++;
  }
  return n;
}
