/**
 * The Keras bridge. Reading: a Keras 3 `.keras` file → a
 * tf.LayersModel with the same predictions. The archive is unpacked with
 * fflate, the weights read with h5wasm (in a worker with a time limit), the
 * config translated by `src/keras/translate.ts`; every weight is checked for
 * shape and every weight in the file must find its layer. Writing: a
 * tf.LayersModel → a `.keras` file that `keras.saving.load_model` opens (with
 * the Python twin `tfjs_drop_path` imported) and that predicts the same.
 */
import {nodeModule} from '../src/internal/node_modules';
import {io, tensor} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import '../layers/drop_path';
import '../layers/normalization';
import '../layers/layer_scale';
import '../layers/keras_stochastic_depth';
import {prepareModelTraining, useKerasFrozenBatchNorm} from '../models/fast_blocks';
import {readKerasArchive, writeKerasArchive} from './archive';
import {MAX_TIMEOUT_MS, readH5, writeH5} from './h5';
import {checkDepth, checkTopology, MAX_CONFIG_DEPTH} from './graph';
import {exportKerasModel} from './export';
import {version} from '../src/version';
import type {H5Dataset} from './h5';
import {isObject} from './format';
import {translateKerasConfig} from './translate';
import type {WeightPlanEntry} from './translate';
import {runningInNode} from '../src/internal/node_compat';
import {writeFileAtomic} from '../src/internal/files';
import {allNestedLayers} from '../src/internal/walk';
import {buildWithinBudget, fileUrlPath, readLocalFile, readPathOrUrl, sizeText} from '../src/internal/model_files';
import {checkKeys, checkLimit, describe} from '../src/internal/validate';

type Layer = LayersModel['layers'][number];

/** Where a `.keras` model comes from. */
export type KerasSource = string | ArrayBuffer | Uint8Array | {arrayBuffer(): Promise<ArrayBuffer>; name?: string};

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * How much a model file may make the loader read and hold. A model file is
 * untrusted input: every size it declares (zip entries, HDF5 datasets, the
 * weights its config builds) is checked against these and against the bytes
 * the file really stores before anything is read or allocated. The defaults
 * load every keras.applications model (ConvNeXtXLarge's .keras is about 1.4 GB).
 */
export interface ModelFileLimits {
  /** The file itself (default 2 GiB − 1, the most Node reads into one buffer). */
  maxFileBytes?: number;
  /** config.json (or model.json), as stored or inflated (default 32 MiB; keras.applications' largest is under 2 MiB). */
  maxConfigBytes?: number;
  /** model.weights.h5 inflated, and the weights read from it (default 4 GiB). */
  maxWeightsBytes?: number;
  /**
   * Bytes a compressed part may become per stored byte (default 20): a deflated
   * zip entry, an HDF5 dataset with a compression filter. Keras stores weights
   * uncompressed (1×), and float weights deflate by about 1.1×.
   */
  maxExpansion?: number;
}

export const MODEL_FILE_LIMITS: Required<ModelFileLimits> = {
  maxFileBytes: 2 * GiB - 1, maxConfigBytes: 32 * MiB, maxWeightsBytes: 4 * GiB, maxExpansion: 20,
};

export interface LoadKerasOptions extends ModelFileLimits {
  /** Time limit of the HDF5 read in ms; default 30 s + 10 s per 100 MB (at most 2^31 − 1). */
  h5TimeoutMs?: number;
  /**
   * Browser only: the URL of h5wasm's script build (`h5wasm/dist/iife/h5wasm.js`
   * of the npm package h5wasm 0.10), loaded by the Web Worker that reads the weights.
   */
  h5wasmUrl?: string;
  /** Receives the translation's notes (e.g. a grouped Conv2D read as DepthwiseConv2D). */
  onNote?: (note: string) => void;
}

const LIMIT_KEYS = Object.keys(MODEL_FILE_LIMITS);

/** Checked limits: each a positive number (integers for sizes), the defaults filled in. */
function modelFileLimits(opts: ModelFileLimits, where: string): Required<ModelFileLimits> {
  const o = opts as Record<string, unknown>;
  return {
    maxFileBytes: checkLimit(o.maxFileBytes, `${where}: maxFileBytes`, 2 ** 32) ?? MODEL_FILE_LIMITS.maxFileBytes,
    maxConfigBytes: checkLimit(o.maxConfigBytes, `${where}: maxConfigBytes`, GiB) ?? MODEL_FILE_LIMITS.maxConfigBytes,
    maxWeightsBytes: checkLimit(o.maxWeightsBytes, `${where}: maxWeightsBytes`, 2 ** 53) ?? MODEL_FILE_LIMITS.maxWeightsBytes,
    maxExpansion: checkLimit(o.maxExpansion, `${where}: maxExpansion`, 1e6, false) ?? MODEL_FILE_LIMITS.maxExpansion,
  };
}

function loadOptions(opts: LoadKerasOptions | undefined): LoadKerasOptions & Required<ModelFileLimits> {
  const o = checkKeys(opts, ['h5TimeoutMs', 'h5wasmUrl', 'onNote', ...LIMIT_KEYS], 'loadKerasModel(source, options)');
  const h5TimeoutMs = checkLimit(o.h5TimeoutMs, 'loadKerasModel: h5TimeoutMs (ms)', MAX_TIMEOUT_MS, false);
  if (o.h5wasmUrl !== undefined && typeof o.h5wasmUrl !== 'string') {
    throw new Error(`loadKerasModel: h5wasmUrl must be a URL string, but received ${describe(o.h5wasmUrl)}.`);
  }
  if (o.onNote !== undefined && typeof o.onNote !== 'function') {
    throw new Error(`loadKerasModel: onNote must be a function, but received ${describe(o.onNote)}.`);
  }
  return {...o, h5TimeoutMs, ...modelFileLimits(o, 'loadKerasModel')};
}

async function bytesOf(source: KerasSource, max: number): Promise<{bytes: Uint8Array; where: string}> {
  const held = (bytes: Uint8Array, where: string) => {
    if (bytes.length > max) throw new Error(`${where}: ${sizeText(bytes.length)}, more than the limit maxFileBytes (${sizeText(max)}).`);
    return {bytes, where};
  };
  if (source instanceof Uint8Array) return held(source, 'loadKerasModel(bytes)');
  if (source instanceof ArrayBuffer) return held(new Uint8Array(source), 'loadKerasModel(ArrayBuffer)');
  if (typeof source === 'string') {
    const bytes = await readPathOrUrl(source, max, 'loadKerasModel', 'the .keras file', 'maxFileBytes');
    // A file:// URL is named by its path, as it was read.
    const named = runningInNode() && /^file:/i.test(source) ? await fileUrlPath(source) : source;
    return {bytes, where: `loadKerasModel('${named}')`};
  }
  if (source !== null && typeof source === 'object' && typeof (source as {arrayBuffer?: unknown}).arrayBuffer === 'function') {
    const named = (source as {name?: string; size?: number}).name;
    const where = `loadKerasModel(${named ? `'${named}'` : 'File'})`;
    const declared = (source as {size?: unknown}).size;
    if (typeof declared === 'number' && declared > max) held({length: declared} as Uint8Array, where);
    return held(new Uint8Array(await source.arrayBuffer()), where);
  }
  throw new Error(`loadKerasModel: source must be a path, a file:// or http(s):// URL, an ArrayBuffer, a Uint8Array or a File, ` +
    `but received ${describe(source)}.`);
}

/** An error that names the file: a message that does not start with `where` gets it in front. */
function named(e: unknown, where: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  if (message.startsWith(where) || message.startsWith('loadKerasModel')) return e instanceof Error ? e : new Error(message);
  const kind = e instanceof Error && e.name !== 'Error' ? `${e.name}: ` : '';
  return new Error(`${where}: TF.js could not build the model (${kind}${message || 'no message'}).`);
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
  return {shape: [h, w, channels, out / channels], data: d.data as ArrayLike<number>};
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
      return tensor(d.dtype === '<f' ? v.data as Float32Array : Float32Array.from(v.data as ArrayLike<number>), v.shape, 'float32');
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
export async function loadKerasModel(source: KerasSource, opts?: LoadKerasOptions): Promise<LayersModel> {
  const o = loadOptions(opts);
  const note = (n: string) => o.onNote?.(n);
  const {bytes, where} = await bytesOf(source, o.maxFileBytes);
  let model: LayersModel | null = null;
  try {
    const archive = readKerasArchive(bytes, where, o);
    checkDepth(archive.config, MAX_CONFIG_DEPTH, where, 'config.json');
    const translated = translateKerasConfig(archive.config, where);
    checkTopology(translated.topology, where);
    translated.notes.forEach(note);
    const datasets = await readH5(archive.weights, where, {timeoutMs: o.h5TimeoutMs, h5wasmUrl: o.h5wasmUrl,
      wanted: translated.weights.map((w) => `${w.h5Group}/vars`), maxExpansion: o.maxExpansion});
    const values = datasets.reduce((n, d) => n + (d.data ? d.data.length : 0), 0);
    if (values * 4 > o.maxWeightsBytes) {
      throw new Error(`${where}: the model's weights take ${sizeText(values * 4)}, more than the limit maxWeightsBytes ` +
        `(${sizeText(o.maxWeightsBytes)}).`);
    }
    // The weights a config may build: those the file holds, and values written in the config itself (Normalization's mean).
    model = await buildWithinBudget(translated.topology, values + Math.ceil(archive.configBytes / 2), where);
    assignWeights(model, translated.weights, datasets, where, note);
    prepareModelTraining(model, false); // stock training until useFastBlocks; strided 1×1 convs guarded (a crash otherwise)
    useKerasFrozenBatchNorm(model); // a BatchNormalization with trainable: false runs in inference mode in fit, as in Keras
    const frozen = allNestedLayers(model).filter((l) => l.getClassName() === 'BatchNormalization' && !l.trainable).length;
    if (frozen > 0) {
      note(`${frozen} BatchNormalization layer${frozen === 1 ? ' is' : 's are'} frozen (trainable: false): as in Keras, ` +
        `${frozen === 1 ? 'it normalizes' : 'they normalize'} with the moving statistics in training too and ` +
        `${frozen === 1 ? 'leaves' : 'leave'} them unchanged`);
    }
    return model;
  } catch (e) {
    model?.dispose();
    throw named(e, where);
  }
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
    options?: SaveKerasOptions): Promise<Uint8Array> {
  const where = `saveKerasModel(${typeof destination === 'string' ? `'${destination}'` : 'model'})`;
  const opts = checkKeys(options, ['h5wasmUrl'], 'saveKerasModel(model, destination, options)');
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
    const file = /^file:/i.test(destination) ? await fileUrlPath(destination, 'saveKerasModel') : destination;
    try {
      // The old file is replaced whole or left untouched: a failed write (disk full, EFBIG) loses nothing.
      await writeFileAtomic(file, bytes);
    } catch (e) {
      throw new Error(`${where}: cannot write '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
    }
  }
  return bytes;
}

const DTYPE_BYTES: Record<string, number> = {float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8};

/**
 * Reads a TF.js `model.json` and its weight files from a folder as untrusted
 * input (the `tfjs-to-keras` command): the manifest's paths must name regular
 * files inside the model's own folder (no `..`, no absolute path, no link out
 * of it), their sizes must be those the manifest declares, the topology is
 * checked as `loadKerasModel` checks a Keras config, and the layers may build
 * no more weights than the files hold. Node only.
 */
export async function loadTfjsModelFile(modelJson: string, limits: ModelFileLimits = {}): Promise<LayersModel> {
  const where = `tfjs-to-keras('${modelJson}')`;
  const o = modelFileLimits(checkKeys(limits, LIMIT_KEYS, 'loadTfjsModelFile(path, limits)'), 'loadTfjsModelFile');
  const [fs, path] = [nodeModule('fs'), nodeModule('path')];
  const fail = (why: string) => new Error(`${where}: ${why}.`);
  let model: LayersModel | null = null;
  try {
    const text = await readLocalFile(modelJson, o.maxConfigBytes, 'model.json', 'maxConfigBytes');
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(text));
    } catch (e) {
      throw fail(`model.json is not UTF-8 JSON (${(e as Error).message})`);
    }
    if (!isObject(json) || !isObject(json.modelTopology)) throw fail('model.json has no modelTopology object');
    const top = json.modelTopology;
    const topology = isObject(top.model_config) ? top.model_config : top;
    const manifest = json.weightsManifest ?? [];
    if (!Array.isArray(manifest)) throw fail(`weightsManifest must be an array, but is ${describe(manifest)}`);
    const folder = await fs.promises.realpath(path.dirname(path.resolve(modelJson)));
    const specs: {name: string; shape: number[]; dtype: string}[] = [];
    const buffers: Uint8Array[] = [];
    let declared = 0;
    let stored = 0;
    for (const group of manifest) {
      if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
        throw fail('a weightsManifest entry is not {paths, weights}');
      }
      for (const w of group.weights) {
        if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) ||
            !w.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) || typeof w.dtype !== 'string') {
          throw fail(`the weight ${JSON.stringify(w).slice(0, 80)} is not {name, shape, dtype}`);
        }
        if (w.quantization !== undefined) throw fail(`the weight '${w.name}' is quantized, which is not read`);
        const bytes = DTYPE_BYTES[w.dtype];
        if (bytes === undefined) throw fail(`the weight '${w.name}' has dtype '${w.dtype}', which is not read`);
        specs.push({name: w.name, shape: w.shape as number[], dtype: w.dtype});
        declared += (w.shape as number[]).reduce((a, b) => a * b, 1) * bytes;
      }
      for (const p of group.paths) {
        // Only files inside the model's own folder: a path such as ../../etc/passwd is refused, not read.
        if (typeof p !== 'string' || p === '' || path.isAbsolute(p) || p.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(p) ||
            p.split('/').some((seg) => seg === '..' || seg === '.')) {
          throw fail(`the weight file ${JSON.stringify(p)} is not a plain path inside the model's folder, so it is not read`);
        }
        const file = path.join(folder, p);
        const real = await fs.promises.realpath(file).catch(() => file);
        if (!real.startsWith(folder + path.sep)) throw fail(`the weight file '${p}' leads out of the model's folder (to '${real}')`);
        const bytes = await readLocalFile(real, o.maxWeightsBytes - stored, 'the weight file', 'maxWeightsBytes');
        stored += bytes.length;
        buffers.push(bytes);
      }
    }
    if (declared !== stored) {
      throw fail(`its weight files hold ${stored} bytes, but its manifest declares ${declared} bytes of weights`);
    }
    checkTopology(topology, where);
    const budget = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) + Math.ceil(text.length / 2);
    model = await buildWithinBudget(topology, budget, where);
    const all = new Uint8Array(stored);
    let at = 0;
    for (const b of buffers) {
      all.set(b, at);
      at += b.length;
    }
    const values = io.decodeWeights(all.buffer, specs as io.WeightsManifestEntry[]);
    try {
      model.loadWeights(values);
    } finally {
      Object.values(values).forEach((t) => t.dispose());
    }
    return model;
  } catch (e) {
    model?.dispose();
    throw named(e, where);
  }
}
