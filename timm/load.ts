/**
 * timm checkpoints (a Hugging Face hub folder: `config.json` and
 * `model.safetensors`) into this package's `vit` and `convnext` builders.
 * Both files are untrusted input: sizes bounded before reading, the
 * safetensors header checked whole (./safetensors.ts), the config's
 * architecture and model arguments taken only where they are known (anything
 * else refused by name), the model built within the weight budget the file
 * can pay for, and every tensor of the file used exactly once, shape-checked
 * in timm's layout and in TF.js'.
 */
import {reshape, tensor, tidy, transpose} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {CONVNEXT_PRESETS, VIT_PRESETS, convnext, vit} from '../models/transformers';
import type {ConvNeXtArgs, ViTArgs} from '../models/transformers';
import type {BlockType} from '../models/builders';
import {StochasticResidual} from '../layers/stochastic_residual';
import {allNestedLayers, isModel} from '../src/internal/walk';
import {readPathOrUrl, sizeText, withinWeightBudget} from '../src/internal/model_files';
import {runningInNode} from '../src/internal/node_compat';
import {nodeModule} from '../src/internal/node_modules';
import {checkKeys, checkLimit, checkOneOf, checkPositiveInt, describe} from '../src/internal/validate';
import type {DropMode, DropStrategy} from '../src/types';
import {readSafetensors} from './safetensors';
import type {SafetensorsEntry} from './safetensors';

type Layer = LayersModel['layers'][number];
type Bytes = ArrayBuffer | Uint8Array | {arrayBuffer(): Promise<ArrayBuffer>; name?: string};

/**
 * A timm checkpoint: a folder (a path in Node.js; a URL, to which `/config.json` and
 * `/model.safetensors` are added, in Node.js or the browser), or its two files: the config as a path / URL, its
 * parsed object or its bytes, and the weights as a path / URL or bytes.
 */
export type TimmSource = string | {config: string | Record<string, unknown> | Bytes; weights: string | Bytes};

export interface LoadTimmOptions {
  /** The deepest block's drop path rate for fine-tuning (default 0; timm's linspace over the blocks). */
  dropPathRate?: number;
  /** A new head of this many classes (initialized, not read: the file's head is left out, as timm does); default the file's. */
  numClasses?: number;
  /** 'dropPath' (default), 'stochasticResidual' (dropped samples not computed) or 'plain'. */
  blockType?: BlockType;
  /** With blockType 'stochasticResidual': 'skip' (default) or 'mask'. */
  strategy?: DropStrategy;
  /** 'row' (default) or 'batch'. */
  dropPathMode?: DropMode;
  /** The head's activation: 'linear' (default: logits, timm's output) or 'softmax'. */
  classifierActivation?: 'linear' | 'softmax';
  /** Seed of the drops (and of a new head's initializer). */
  seed?: number;
  /** The checkpoint folder's size limits: model.safetensors (default 2 GiB − 1), config.json (default 1 MiB). */
  maxFileBytes?: number;
  maxConfigBytes?: number;
  /** The safetensors JSON header (default 100 MB, the format's own limit). */
  maxHeaderBytes?: number;
  /** Receives notes (e.g. the file's head left out for a new numClasses). */
  onNote?: (note: string) => void;
}

export const TIMM_FILE_LIMITS = Object.freeze({maxFileBytes: 2 * 2 ** 30 - 1, maxConfigBytes: 2 ** 20, maxHeaderBytes: 100_000_000});

/** The timm architectures read: every preset of `vit` and `convnext` by its timm name. */
export const TIMM_ARCHITECTURES: readonly string[] = Object.freeze([...Object.keys(VIT_PRESETS), ...Object.keys(CONVNEXT_PRESETS)]);

const OPTION_KEYS = ['dropPathRate', 'numClasses', 'blockType', 'strategy', 'dropPathMode', 'classifierActivation', 'seed', 'maxFileBytes',
  'maxConfigBytes', 'maxHeaderBytes', 'onNote'];

// timm model_args each builder reads, by timm's name; those that only shape training or initialization are taken and
// have no effect on the weights read.
const VIT_ARGS: Record<string, (v: unknown, a: Partial<ViTArgs>) => void> = {
  img_size: (v, a) => { a.imageSize = v as number; },
  patch_size: (v, a) => { a.patchSize = v as number; },
  in_chans: (v, a) => { a.inChannels = v as number; },
  embed_dim: (v, a) => { a.dim = v as number; },
  depth: (v, a) => { a.depth = v as number; },
  num_heads: (v, a) => { a.heads = v as number; },
  mlp_ratio: (v, a) => { a.mlpRatio = v as number; },
  qkv_bias: (v, a) => { a.qkvBias = v as boolean; },
  class_token: (v, a) => { a.classToken = v as boolean; },
  no_embed_class: (v, a) => { a.embedClass = !(v as boolean); },
  global_pool: (v, a) => { a.pool = v as 'token' | 'avg'; },
  init_values: (v, a) => { a.layerScale = v as number | null; },
  num_classes: () => undefined,
  drop_rate: () => undefined,
  drop_path_rate: () => undefined,
  attn_drop_rate: () => undefined,
  weight_init: () => undefined,
};
const CONVNEXT_ARGS: Record<string, (v: unknown, a: Partial<ConvNeXtArgs>) => void> = {
  depths: (v, a) => { a.depths = v as number[]; },
  dims: (v, a) => { a.dims = v as number[]; },
  ls_init_value: (v, a) => { a.layerScaleInit = v as number | null; },
  kernel_sizes: (v, a) => { a.kernelSize = Array.isArray(v) ? v[0] : v as number; },
  mlp_ratio: (v, a) => { a.mlpRatio = v as number; },
  conv_mlp: () => undefined, // a 1×1 conv or a linear MLP: the same numbers, read from either layout
  in_chans: () => undefined, // the input shape's channels
  num_classes: () => undefined,
  drop_rate: () => undefined,
  drop_path_rate: () => undefined,
};

/** A source's bytes within `max`: a path or URL string (Node: a path unless http(s); the browser: a URL), or bytes. */
async function bytesOf(source: string | Bytes, max: number, what: string, option: string): Promise<Uint8Array> {
  const check = (b: Uint8Array) => {
    if (b.length > max) throw new Error(`loadTimmModel: ${what} is ${sizeText(b.length)}, more than the limit ${option} (${sizeText(max)}).`);
    return b;
  };
  if (source instanceof Uint8Array) return check(source);
  if (source instanceof ArrayBuffer) return check(new Uint8Array(source));
  if (typeof source === 'string') return readPathOrUrl(source, max, 'loadTimmModel', what, option);
  if (source !== null && typeof source === 'object' && typeof (source as {arrayBuffer?: unknown}).arrayBuffer === 'function') {
    const declared = (source as {size?: unknown}).size;
    if (typeof declared === 'number') check({length: declared} as Uint8Array);
    return check(new Uint8Array(await (source as {arrayBuffer(): Promise<ArrayBuffer>}).arrayBuffer()));
  }
  throw new Error(`loadTimmModel: ${what} must be a path or URL, an ArrayBuffer, a Uint8Array or a File, but received ${describe(source)}.`);
}

function join(folder: string, file: string): string {
  if (/^https?:\/\//i.test(folder) || !runningInNode()) return `${folder.replace(/\/+$/, '')}/${file}`;
  const local = /^file:/i.test(folder) ? folder : nodeModule('path').join(folder, file);
  return /^file:/i.test(local) ? `${local.replace(/\/+$/, '')}/${file}` : local;
}

async function configOf(source: string | Record<string, unknown> | Bytes, max: number): Promise<Record<string, unknown>> {
  let parsed: unknown = source;
  if (typeof source === 'string' || source instanceof Uint8Array || source instanceof ArrayBuffer ||
      typeof (source as {arrayBuffer?: unknown}).arrayBuffer === 'function') {
    const bytes = await bytesOf(source as string | Bytes, max, 'config.json', 'maxConfigBytes');
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes));
    } catch (e) {
      throw new Error(`loadTimmModel: config.json is not UTF-8 JSON (${(e as Error).message}).`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`loadTimmModel: config.json must be a JSON object, but received ${describe(parsed)}.`);
  }
  return parsed as Record<string, unknown>;
}

/** The builder and its arguments for a timm config (architecture, num_classes, model_args, pretrained_cfg). */
function plan(config: Record<string, unknown>, o: LoadTimmOptions): {family: 'vit' | 'convnext'; args: ViTArgs | ConvNeXtArgs; fileClasses: number} {
  const arch = config.architecture;
  if (typeof arch !== 'string') throw new Error(`loadTimmModel: config.json's architecture must be a timm model name, but received ${describe(arch)}.`);
  const name = arch.split('.')[0] as string; // 'deit_tiny_patch16_224.fb_in1k' → its architecture
  const family = name in VIT_PRESETS ? 'vit' : name in CONVNEXT_PRESETS ? 'convnext' : null;
  if (!family) {
    throw new Error(`loadTimmModel: architecture '${arch}' is not one this package builds; it reads ${TIMM_ARCHITECTURES.join(', ')} ` +
      '(and those with other sizes through model_args).');
  }
  const modelArgs = config.model_args ?? {};
  if (modelArgs === null || typeof modelArgs !== 'object' || Array.isArray(modelArgs)) {
    throw new Error(`loadTimmModel: config.json's model_args must be an object, but received ${describe(modelArgs)}.`);
  }
  const fileClasses = (modelArgs as {num_classes?: unknown}).num_classes ?? config.num_classes;
  if (!Number.isInteger(fileClasses) || (fileClasses as number) < 1) {
    throw new Error(`loadTimmModel: config.json's num_classes must be a positive integer (a model with a head), but received ${describe(fileClasses)}.`);
  }
  const readers = (family === 'vit' ? VIT_ARGS : CONVNEXT_ARGS) as Record<string, (v: unknown, a: Record<string, unknown>) => void>;
  const unknown = Object.keys(modelArgs).filter((k) => !(k in readers));
  if (unknown.length) {
    throw new Error(`loadTimmModel: model_args ${unknown.map((k) => `'${k}'`).join(', ')} of '${arch}' ${unknown.length > 1 ? 'are' : 'is'} ` +
      `not read by this package's ${family} (it reads ${Object.keys(readers).join(', ')}), so the model would differ from timm's.`);
  }
  const args: Record<string, unknown> = {preset: name};
  for (const [k, v] of Object.entries(modelArgs)) (readers[k] as (v: unknown, a: Record<string, unknown>) => void)(v, args);
  if (family === 'vit' && args.imageSize === undefined) {
    const size = (config.pretrained_cfg as {input_size?: unknown} | undefined)?.input_size;
    if (Array.isArray(size) && size.length === 3) {
      if (size[1] !== size[2]) throw new Error(`loadTimmModel: pretrained_cfg.input_size ${JSON.stringify(size)} is not square.`);
      args.imageSize = size[1];
    }
  }
  if (family === 'vit' && args.pool === '') {
    throw new Error("loadTimmModel: global_pool '' (no pooling, a token-sequence output) is not built by this package's vit.");
  }
  const numClasses = o.numClasses ?? fileClasses;
  const common = {numClasses, dropPathRate: o.dropPathRate, blockType: o.blockType, strategy: o.strategy, dropPathMode: o.dropPathMode,
    classifierActivation: o.classifierActivation ?? 'linear', seed: o.seed, name: name};
  Object.entries(common).forEach(([k, v]) => { if (v !== undefined) args[k] = v; });
  if (family === 'convnext') {
    // timm's ConvNeXt takes any size that divides by 32: so does the model read (pretrained_cfg's input_size is its training size).
    args.inputShape = [null, null, (modelArgs as {in_chans?: number}).in_chans ?? 3];
  }
  return {family, args: args as unknown as ViTArgs | ConvNeXtArgs, fileClasses: fileClasses as number};
}

/** How one timm tensor becomes one TF.js weight. */
interface Target {
  layer: Layer;
  weight: number;
  /** timm layout → TF.js layout. */
  convert: (t: Tensor) => Tensor;
}

const asIs = (t: Tensor) => t;
const linear = (t: Tensor) => transpose(t.rank === 4 ? reshape(t, [t.shape[0] as number, t.shape[1] as number]) : t); // [out, in(, 1, 1)] → [in, out]

/** The TF.js weight a timm tensor name goes to, in a model these builders made (null: no such weight). */
function targetOf(key: string, byName: Map<string, Layer>): Target | null {
  const dot = key.lastIndexOf('.');
  const [module, param] = dot < 0 ? ['', key] : [key.slice(0, dot), key.slice(dot + 1)];
  const find = (layerName: string, weightSuffix: string, convert: Target['convert']): Target | null => {
    const layer = byName.get(layerName);
    if (!layer) return null;
    const weight = layer.weights.findIndex((w) => w.originalName.endsWith(`/${weightSuffix}`));
    return weight < 0 ? null : {layer, weight, convert};
  };
  if (module === '' && (param === 'cls_token' || param === 'pos_embed')) return find('pos_embed', param, asIs);
  const attention = /^(blocks\.\d+\.attn)\.(qkv|proj)$/.exec(module);
  if (attention) {
    return find((attention[1] as string).replace(/\./g, '_'), `${attention[2]}_${param === 'weight' ? 'kernel' : 'bias'}`, param === 'weight' ? linear : asIs);
  }
  const layerName = (param === 'gamma' && /^stages\.\d+\.blocks\.\d+$/.test(module) ? `${module}.gamma` : module).replace(/\./g, '_');
  const layer = byName.get(layerName);
  if (!layer) return null;
  const cls = layer.getClassName();
  if (cls === 'Conv2D') return find(layerName, param === 'weight' ? 'kernel' : 'bias', param === 'weight' ? (t) => transpose(t, [2, 3, 1, 0]) : asIs);
  if (cls === 'DepthwiseConv2D') {
    return find(layerName, param === 'weight' ? 'depthwise_kernel' : 'bias', param === 'weight' ? (t) => transpose(t, [2, 3, 0, 1]) : asIs);
  }
  if (cls === 'Dense') return find(layerName, param === 'weight' ? 'kernel' : 'bias', param === 'weight' ? linear : asIs);
  if (cls === 'LayerNormalization') return find(layerName, param === 'weight' ? 'gamma' : 'beta', asIs);
  if (cls === 'LayerScale' && param === 'gamma') return find(layerName, 'gamma', asIs);
  return null;
}

function checkOptions(options: LoadTimmOptions | undefined) {
  const o = checkKeys(options ?? {}, OPTION_KEYS, 'loadTimmModel(source, options)');
  if (o.numClasses !== undefined) checkPositiveInt(o.numClasses, 'loadTimmModel: numClasses');
  if (o.classifierActivation !== undefined) checkOneOf(o.classifierActivation, ['linear', 'softmax'] as const, 'loadTimmModel: classifierActivation');
  if (o.onNote !== undefined && typeof o.onNote !== 'function') {
    throw new Error(`loadTimmModel: onNote must be a function, but received ${describe(o.onNote)}.`);
  }
  return {
    ...o,
    maxFileBytes: checkLimit(o.maxFileBytes, 'loadTimmModel: maxFileBytes', 2 ** 32) ?? TIMM_FILE_LIMITS.maxFileBytes,
    maxConfigBytes: checkLimit(o.maxConfigBytes, 'loadTimmModel: maxConfigBytes', 2 ** 30) ?? TIMM_FILE_LIMITS.maxConfigBytes,
    maxHeaderBytes: checkLimit(o.maxHeaderBytes, 'loadTimmModel: maxHeaderBytes', 2 ** 32) ?? TIMM_FILE_LIMITS.maxHeaderBytes,
  };
}

/**
 * A timm ViT / DeiT (`vit_*`, `deit_*`, `deit3_*`) or ConvNeXt (`convnext_*`)
 * checkpoint as a tf.LayersModel built by `vit` / `convnext`, ready to
 * fine-tune with drop path: predictions equal timm's forward (logits; the
 * input channels-last, normalized as `pretrained_cfg` says — mean / std are
 * not applied by the model).
 *
 * @example
 * import {loadTimmModel} from 'tfjs-drop-path/timm';
 * const model = await loadTimmModel('deit_tiny_patch16_224', {dropPathRate: 0.1, numClasses: 10});
 */
export async function loadTimmModel(source: TimmSource, options?: LoadTimmOptions): Promise<LayersModel> {
  const o = checkOptions(options);
  let configSource: string | Record<string, unknown> | Bytes;
  let weightsSource: string | Bytes;
  if (typeof source === 'string') {
    configSource = join(source, 'config.json');
    weightsSource = join(source, 'model.safetensors');
  } else if (source !== null && typeof source === 'object' && 'config' in source && 'weights' in source) {
    checkKeys(source, ['config', 'weights'], 'loadTimmModel(source)');
    configSource = source.config;
    weightsSource = source.weights;
  } else {
    throw new Error(`loadTimmModel: source must be a checkpoint folder (a path or URL) or {config, weights}, but received ${describe(source)}.`);
  }
  const config = await configOf(configSource, o.maxConfigBytes);
  const {family, args, fileClasses} = plan(config, o);
  const bytes = await bytesOf(weightsSource, o.maxFileBytes, 'model.safetensors', 'maxFileBytes');
  const where = 'loadTimmModel: model.safetensors';
  const file = readSafetensors(bytes, o.maxHeaderBytes, where);
  const newHead = args.numClasses !== fileClasses;
  const headKeys = new Set(family === 'vit' ? ['head.weight', 'head.bias'] : ['head.fc.weight', 'head.fc.bias']);
  let budget = [...file.entries.values()].reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  if (newHead) {
    const features = (file.entries.get(family === 'vit' ? 'head.weight' : 'head.fc.weight')?.shape[1] ?? 0);
    budget += args.numClasses * (features + 1);
  }
  const model = withinWeightBudget(budget, 'loadTimmModel', () => (family === 'vit' ? vit(args as ViTArgs) : convnext(args as ConvNeXtArgs)));
  try {
    assign(model, file, newHead ? headKeys : new Set(), where);
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (newHead) {
    o.onNote?.(`the file's head (${fileClasses} classes) is left out; the new head of ${args.numClasses} classes starts from its initializer`);
  }
  return model;
}

/** Sets every weight of `model` from `file`, each file tensor used once (but those in `skip`), each shape checked. */
function assign(model: LayersModel, file: ReturnType<typeof readSafetensors>, skip: Set<string>, where: string): void {
  const byName = new Map(allNestedLayers(model).map((l) => [l.name, l]));
  const values = new Map<Layer, (Tensor | undefined)[]>();
  const unused: string[] = [];
  const problems: string[] = [];
  const put = (e: SafetensorsEntry, target: Target) => {
    const wanted = target.layer.weights[target.weight]!.shape;
    const value = tidy(() => target.convert(tensor(file.read(e.name), e.shape, 'float32')));
    if (value.shape.length !== wanted.length || value.shape.some((d, i) => d !== wanted[i])) {
      problems.push(`tensor '${e.name}' has shape [${e.shape}] (timm's layout), but layer '${target.layer.name}' needs ` +
        `${target.layer.weights[target.weight]!.originalName.split('/').pop()} of shape [${wanted}] (as [${value.shape}] once converted)`);
      value.dispose();
      return;
    }
    const list = values.get(target.layer) ?? new Array<Tensor | undefined>(target.layer.weights.length);
    list[target.weight]?.dispose();
    list[target.weight] = value;
    values.set(target.layer, list);
  };
  const seen = new Set<string>();
  for (const e of file.entries.values()) {
    if (skip.has(e.name)) continue;
    const target = targetOf(e.name, byName);
    if (!target) {
      unused.push(e.name);
      continue;
    }
    seen.add(`${target.layer.name}#${target.weight}`);
    put(e, target);
  }
  // Leaf layers only: a nested model's and a StochasticResidual's weights are its layers'.
  const leaves = allNestedLayers(model).filter((l) => !isModel(l) && !(l instanceof StochasticResidual));
  const missing = leaves.flatMap((l) => l.weights.map((w, i) => ({l, w, i})))
    .filter(({l, i}) => !seen.has(`${l.name}#${i}`) && !(skip.size && /^head(_fc)?$/.test(l.name)))
    .map(({w}) => w.originalName);
  if (unused.length) problems.push(`${unused.length} tensor${unused.length > 1 ? 's' : ''} of the file ha${unused.length > 1 ? 've' : 's'} no place in the model ` +
    `(a variant this package does not build): ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ', …' : ''}`);
  if (missing.length) problems.push(`the file has no tensor for ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
  if (problems.length) {
    for (const list of values.values()) list.forEach((t) => t?.dispose());
    throw new Error(`${where}: ${problems.join('; ')}.`);
  }
  for (const [layer, list] of values) {
    // Every slot is set (a missing one was refused above); getWeights() reads the variables themselves.
    layer.setWeights(list as Tensor[]);
    list.forEach((t) => t?.dispose());
  }
}
