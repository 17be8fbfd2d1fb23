/**
 * The Keras bridge (issue 12). Reading: a Keras 3 `.keras` file → a
 * tf.LayersModel with the same predictions. The archive is unpacked with
 * fflate, the weights read with h5wasm (in a worker with a time limit), the
 * config translated by `src/keras/translate.ts`; every weight is checked for
 * shape and every weight in the file must find its layer. Writing: a
 * tf.LayersModel → a `.keras` file that `keras.saving.load_model` opens (with
 * the Python twin `tfjs_drop_path` imported) and that predicts the same.
 */
import {tensor} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import {models} from '@tensorflow/tfjs-layers';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import '../layers/drop_path';
import '../layers/keras_layers';
import '../layers/keras_stochastic_depth';
import {guardStridedPointwiseConvs} from '../layers/conv_guard';
import {allNestedLayers} from './find_layers';
import {readKerasArchive, writeKerasArchive} from '../src/keras/archive';
import {readH5, writeH5} from '../src/keras/h5';
import {exportKerasModel} from '../src/keras/export';
import {version} from '../src/version';
import type {H5Dataset} from '../src/keras/h5';
import {translateKerasConfig} from '../src/keras/translate';
import type {WeightPlanEntry} from '../src/keras/translate';
import {runningInNode} from '../src/internal/node_compat';
import {describe} from '../src/internal/validate';

type Layer = LayersModel['layers'][number];

/** Where a `.keras` model comes from. */
export type KerasSource = string | ArrayBuffer | Uint8Array | {arrayBuffer(): Promise<ArrayBuffer>; name?: string};

export interface LoadKerasOptions {
  /** Time limit of the HDF5 read (see readH5); default 30 s + 10 s per 100 MB. */
  h5TimeoutMs?: number;
  /**
   * Browser only: the URL of h5wasm's script build (`h5wasm/dist/iife/h5wasm.js`
   * of the npm package h5wasm 0.10), loaded by the Web Worker that reads the weights.
   */
  h5wasmUrl?: string;
  /** Receives the translation's notes (e.g. a grouped Conv2D read as DepthwiseConv2D). */
  onNote?: (note: string) => void;
}

async function bytesOf(source: KerasSource): Promise<{bytes: Uint8Array; where: string}> {
  if (source instanceof Uint8Array) return {bytes: source, where: 'loadKerasModel(bytes)'};
  if (source instanceof ArrayBuffer) return {bytes: new Uint8Array(source), where: 'loadKerasModel(ArrayBuffer)'};
  if (typeof source === 'string') {
    if (/^https?:\/\//i.test(source) || !runningInNode()) {
      // In the browser any string is a URL (relative to the page).
      const response = await fetch(source);
      if (!response.ok) throw new Error(`loadKerasModel: GET ${source} answered ${response.status} ${response.statusText}.`);
      return {bytes: new Uint8Array(await response.arrayBuffer()), where: `loadKerasModel('${source}')`};
    }
    const file = source.startsWith('file://') ? decodeURIComponent(source.slice('file://'.length)) : source;
    const fs = await import('fs');
    let bytes: Uint8Array;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (e) {
      throw new Error(`loadKerasModel: cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
    }
    return {bytes, where: `loadKerasModel('${file}')`};
  }
  if (source !== null && typeof source === 'object' && typeof (source as {arrayBuffer?: unknown}).arrayBuffer === 'function') {
    const named = (source as {name?: string}).name;
    return {bytes: new Uint8Array(await source.arrayBuffer()), where: `loadKerasModel(${named ? `'${named}'` : 'File'})`};
  }
  throw new Error(`loadKerasModel: source must be a path, a file:// or http(s):// URL, an ArrayBuffer, a Uint8Array or a File, ` +
    `but received ${describe(source)}.`);
}

/** The layer at a name path; '#branch' / '#shortcut' step into a StochasticResidual's nested models. */
function findLayer(model: LayersModel, path: string[]): Layer {
  let layer: Layer = model as unknown as Layer;
  for (const name of path) {
    if (name === '#branch' || name === '#shortcut') {
      const child = (layer as unknown as {branch?: Layer; shortcut?: Layer | null})[name === '#branch' ? 'branch' : 'shortcut'];
      if (!child) throw new Error(`layer '${layer.name}' has no ${name.slice(1)}`);
      layer = child;
    } else {
      layer = (layer as unknown as LayersModel).getLayer(name);
    }
  }
  return layer;
}

/** A Keras grouped-conv kernel (h, w, 1, C·m) as a depthwise kernel (h, w, C, m): the same values, channel-major. */
function depthwiseKernel(d: H5Dataset, channels: number): {shape: number[]; data: ArrayLike<number>} {
  const [h, w, , out] = d.shape as [number, number, number, number];
  return {shape: [h, w, channels, out / channels], data: d.data};
}

function assignWeights(model: LayersModel, plan: WeightPlanEntry[], datasets: H5Dataset[], where: string,
    note: (n: string) => void): void {
  const optimizerVars = datasets.filter((d) => d.path.startsWith('optimizer/')).length;
  if (optimizerVars) note(`the file's optimizer state (${optimizerVars} variables) is not loaded: compile the model in TF.js`);
  const byPath = new Map(datasets.map((d) => [d.path, d]));
  const used = new Set<string>();
  for (const entry of plan) {
    const layer = findLayer(model, entry.layerPath);
    const vars: H5Dataset[] = [];
    for (let i = 0; byPath.has(`${entry.h5Group}/vars/${i}`); i++) vars.push(byPath.get(`${entry.h5Group}/vars/${i}`) as H5Dataset);
    if (entry.transform === 'rateVariable') {
      // The twin's rate variable: one scalar that must equal the rate the config gave the layer.
      const value = vars.length === 1 ? Number(vars[0]!.data?.[0]) : NaN;
      const rate = (layer as unknown as {rate: number}).rate;
      if (!(Math.abs(value - rate) <= 1e-6)) {
        throw new Error(`${where}: layer '${entry.layerPath.join('/')}' (${layer.getClassName()}) has rate ${rate} in its config but ` +
          `${vars.length === 1 ? value : `${vars.length} variables`} in ${entry.h5Group}/vars.`);
      }
      used.add(`${entry.h5Group}/vars/0`);
      continue;
    }
    const targets = layer.weights;
    if (vars.length !== targets.length) {
      throw new Error(`${where}: layer '${entry.layerPath.join('/')}' (${layer.getClassName()}) has ${targets.length} weights in TF.js ` +
        `but ${vars.length} in the file (${entry.h5Group}/vars).`);
    }
    const values: Tensor[] = vars.map((d, i) => {
      used.add(`${entry.h5Group}/vars/${i}`);
      // float32, or integers float32 holds exactly (Normalization's sample count is int64).
      const integer = /^[<>|]?[iuq]/i.test(d.dtype) && d.data !== null && Array.from(d.data).every((v) => Math.abs(v) <= 2 ** 24);
      if (d.data === null || (d.dtype !== '<f' && !integer)) {
        throw new Error(`${where}: ${entry.h5Group}/vars/${i} holds ${d.dtype} values; only float32 weights (and exact integers) are read.`);
      }
      const target = targets[i]!.shape;
      const v = entry.transform === 'groupedToDepthwise' && i === 0 ? depthwiseKernel(d, target[2] as number) : d;
      if (v.shape.length !== target.length || v.shape.some((s, j) => s !== target[j])) {
        throw new Error(`${where}: ${entry.h5Group}/vars/${i} has shape [${v.shape}], but weight '${targets[i]!.originalName}' ` +
          `of layer '${entry.layerPath.join('/')}' needs [${target}].`);
      }
      return tensor(d.dtype === '<f' ? v.data as Float32Array : Float32Array.from(v.data), v.shape, 'float32');
    });
    layer.setWeights(values);
    values.forEach((t) => t.dispose());
  }
  // Layer weights must all be used; the optimizer's state (optimizer/vars/…) is Keras' training state, not the model.
  const left = datasets.filter((d) => !d.path.startsWith('optimizer/') && d.path.includes('vars/') && !used.has(d.path))
    .map((d) => d.path);
  if (left.length) {
    throw new Error(`${where}: ${left.length} weight${left.length === 1 ? '' : 's'} of the file found no layer: ${left.slice(0, 8).join(', ')}` +
      `${left.length > 8 ? ', …' : ''}.`);
  }
}

/**
 * Loads a Keras 3 `.keras` model into TF.js: the same layers (stock tf.layers
 * classes where tfjs has them; this package's layers for the stochastic-depth
 * family, `Normalization` and `LayerScale`) and the file's weights. Throws one
 * error listing every layer it cannot read, never returns a different model.
 *
 * @example
 * const model = await dp.loadKerasModel('convnext.keras');
 */
export async function loadKerasModel(source: KerasSource, opts: LoadKerasOptions = {}): Promise<LayersModel> {
  const {bytes, where} = await bytesOf(source);
  const archive = readKerasArchive(bytes, where);
  const translated = translateKerasConfig(archive.config, where);
  translated.notes.forEach((n) => opts.onNote?.(n));
  const datasets = await readH5(archive.weights, where, {timeoutMs: opts.h5TimeoutMs, h5wasmUrl: opts.h5wasmUrl});
  const model = await models.modelFromJSON({modelTopology: translated.topology} as never);
  try {
    assignWeights(model, translated.weights, datasets, where, (n) => opts.onNote?.(n));
    guardStridedPointwiseConvs(allNestedLayers(model)); // strided 1×1 convs would crash tfjs-node's gradient (conv_guard)
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Where a `.keras` model goes: a path or file:// URL (Node); or nothing, to get the bytes only. */
export type KerasDestination = string | undefined;

export interface SaveKerasOptions {
  /**
   * Browser only: the URL of h5wasm's script build (`h5wasm/dist/iife/h5wasm.js`
   * of the npm package h5wasm 0.10), loaded by the Web Worker that writes the weights.
   */
  h5wasmUrl?: string;
}

/**
 * Writes a tf.LayersModel as a Keras 3 `.keras` file: Keras' config format
 * and weight layout, this package's DropPath and StochasticResidual as the
 * Python twin's classes (`pip install ./python`, `import tfjs_drop_path`),
 * ConvNeXt's StochasticDepth and LayerScale as keras.applications' own. The
 * layers' own rates are written (a running schedule's temporary rate is
 * not). Throws one error listing every layer Keras would not read as the
 * same function; resolves with the file's bytes (in the browser: give no
 * destination, pass `{h5wasmUrl}`, and offer the bytes as a download).
 *
 * @example
 * await dp.saveKerasModel(model, 'resnet.keras');
 */
export async function saveKerasModel(model: LayersModel, destination?: KerasDestination,
    opts: SaveKerasOptions = {}): Promise<Uint8Array> {
  const where = `saveKerasModel(${typeof destination === 'string' ? `'${destination}'` : 'model'})`;
  if (model === null || typeof model !== 'object' || typeof (model as {toJSON?: unknown}).toJSON !== 'function' ||
      !Array.isArray((model as {layers?: unknown}).layers)) {
    throw new Error(`saveKerasModel: model must be a tf.LayersModel, but received ${describe(model)}.`);
  }
  if (destination !== undefined && typeof destination !== 'string') {
    throw new Error(`saveKerasModel: destination must be a path or a file:// URL, but received ${describe(destination)}.`);
  }
  if (destination !== undefined && !runningInNode()) {
    throw new Error(`saveKerasModel: in the browser there is no file system to write '${destination}' to: give no ` +
      'destination and use the bytes it resolves with (a Blob download, IndexedDB, an upload).');
  }
  const topology = model.toJSON(null, false) as unknown;
  const exported = exportKerasModel(topology, {
    outputShapes: (path) => {
      const shape = findLayer(model, path).outputShape as unknown;
      const list = Array.isArray(shape) && Array.isArray(shape[0]) ? shape : [shape];
      return list as (number | null)[][];
    },
    weights: (path) => findLayer(model, path).weights.map((w) => {
      const value = w.read();
      return {shape: value.shape, data: Float32Array.from(value.dataSync())};
    }),
  }, where);
  const weights = await writeH5(exported.datasets, exported.groups, where, opts.h5wasmUrl);
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const bytes = writeKerasArchive(exported.config, {
    keras_version: '3.15.1',
    date_saved: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}@${pad(now.getHours())}:` +
      `${pad(now.getMinutes())}:${pad(now.getSeconds())}`,
    generated_by: `tfjs-drop-path ${version}`,
  }, weights);
  if (destination !== undefined) {
    const file = destination.startsWith('file://') ? decodeURIComponent(destination.slice('file://'.length)) : destination;
    const fs = await import('fs');
    try {
      await fs.promises.writeFile(file, bytes);
    } catch (e) {
      throw new Error(`${where}: cannot write '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
    }
  }
  return bytes;
}
