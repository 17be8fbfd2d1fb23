/**
 * Vision transformers (ViT / DeiT) and ConvNeXt on the functional API, wired
 * as timm wires them: per-block drop rates `linspace(0, dropPathRate, depth)`
 * over all blocks, one drop per residual branch (a transformer block's
 * attention and MLP branches share their block's rate), before each add.
 * Layer names follow timm's module names (`blocks_3_attn` for
 * `blocks.3.attn`), which is how `tfjs-drop-path/timm` finds each weight.
 */
import {input, layers, model} from '@tensorflow/tfjs-layers';
import type {LayersModel, SymbolicTensor} from '@tensorflow/tfjs-layers';
import {initializers} from '@tensorflow/tfjs-layers';

import {DropPath} from '../layers/drop_path';
import {LayerScale} from '../layers/layer_scale';
import {StochasticResidual} from '../layers/stochastic_residual';
import {ClassTokenPosition, MultiHeadSelfAttention, TokenPool} from '../layers/transformer';
import {prepareModelTraining} from './fast_blocks';
import {subSeed} from '../src/internal/seeds';
import {checkBoolean, checkKeys, checkMode, checkOneOf, checkPositiveInt, checkRate, checkSeed, describe, nearest, optional}
  from '../src/internal/validate';
import {blockRates} from '../src/schedules';
import type {DepthScheduleName} from '../src/schedules';
import type {DropMode, DropStrategy} from '../src/types';
import type {BlockType} from './builders';

const BLOCK_TYPES: readonly BlockType[] = ['dropPath', 'stochasticResidual', 'plain'];

/** The drop settings both builders take. */
interface DropArgs {
  /** The deepest block's drop rate (default 0). */
  dropPathRate?: number;
  /** How the rates rise with depth: 'linspace' (timm's, default), 'linear', 'uniform'. */
  schedule?: DepthScheduleName;
  /** 'dropPath' (default): a DropPath before each add; 'stochasticResidual': each branch a StochasticResidual; 'plain': none. */
  blockType?: BlockType;
  /** With blockType 'stochasticResidual': 'skip' (default, dropped samples' branches not computed) or 'mask'. */
  strategy?: DropStrategy;
  /** 'row' (default, per sample) or 'batch'. */
  dropPathMode?: DropMode;
  /** Activation of the classifier: 'softmax' (default) or 'linear' (logits, as timm returns them). */
  classifierActivation?: 'softmax' | 'linear';
  /** Seed of every initializer and drop (each part its own derived seed). */
  seed?: number;
  /** The model's name (default 'vit' / 'convnext'). */
  name?: string;
}
const DROP_KEYS = ['dropPathRate', 'schedule', 'blockType', 'strategy', 'dropPathMode', 'classifierActivation', 'seed', 'name'];

interface Drop {
  rates: number[];
  blockType: BlockType;
  strategy: DropStrategy;
  mode: DropMode;
  seed: number | undefined;
}

function positiveNumber(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${where} must be a positive number, but received ${describe(value)}.`);
  }
  return value;
}

const weights = (seed: number | undefined) => initializers.truncatedNormal({stddev: 0.02, seed});

function dropSettings(args: DropArgs, depth: number, where: string): Drop {
  const maxRate = checkRate(optional(args.dropPathRate, 0, `${where}: dropPathRate`), `${where}: dropPathRate`);
  const schedule = optional<DepthScheduleName>(args.schedule, 'linspace', `${where}: schedule`);
  return {
    rates: blockRates(schedule, depth, maxRate, `${where}: schedule`),
    blockType: checkOneOf(optional(args.blockType, 'dropPath', `${where}: blockType`), BLOCK_TYPES, `${where}: blockType`),
    strategy: checkOneOf(optional(args.strategy, 'skip', `${where}: strategy`), ['skip', 'mask'] as const, `${where}: strategy`),
    mode: checkMode(optional(args.dropPathMode, 'row', `${where}: dropPathMode`), `${where}: dropPathMode`),
    seed: checkSeed(args.seed, `${where}: seed`),
  };
}

/** The names of one residual's layers: the add, the DropPath, the StochasticResidual (its branch model: `${residual}_branch`). */
interface ResidualNames {
  add: string;
  drop: string;
  residual: string;
}

/** `x + drop(branch(x))`: a DropPath before the add, or the branch as a StochasticResidual's nested model, or no drop. */
function residual(x: SymbolicTensor, branch: (inp: SymbolicTensor) => SymbolicTensor, rate: number, drop: Drop, names: ResidualNames,
    seedIndex: number): SymbolicTensor {
  const seed = subSeed(drop.seed, 'drop', seedIndex);
  if (drop.blockType === 'stochasticResidual') {
    const inp = input({shape: x.shape.slice(1) as number[], name: `${names.residual}_input`});
    const sub = model({inputs: inp, outputs: branch(inp), name: `${names.residual}_branch`});
    return new StochasticResidual({branch: sub, rate, mode: drop.mode, strategy: drop.strategy, seed, name: names.residual})
      .apply(x) as SymbolicTensor;
  }
  let b = branch(x);
  if (drop.blockType === 'dropPath') b = new DropPath({rate, mode: drop.mode, seed, name: names.drop}).apply(b) as SymbolicTensor;
  return layers.add({name: names.add}).apply([x, b]) as SymbolicTensor;
}

function head(x: SymbolicTensor, numClasses: number, activation: 'softmax' | 'linear', seed: number | undefined, name: string) {
  return layers.dense({units: numClasses, activation, kernelInitializer: weights(subSeed(seed, 'head')), name})
    .apply(x) as SymbolicTensor;
}

function checkPreset<T>(presets: Record<string, T>, preset: unknown, where: string): T | undefined {
  if (preset === undefined) return undefined;
  const found = typeof preset === 'string' ? presets[preset] : undefined;
  if (!found) {
    const near = typeof preset === 'string' ? nearest(preset, Object.keys(presets)) : undefined;
    throw new Error(`${where}: preset must be one of ${Object.keys(presets).join(', ')}, but received ${describe(preset)}` +
      `${near ? ` (did you mean '${near}'?)` : ''}.`);
  }
  return found;
}

// ---------------------------------------------------------------- ViT / DeiT

/** Arguments of {@link vit}. Every field but numClasses can come from a preset. */
export interface ViTArgs extends DropArgs {
  /** A timm model name: its dims (`vit({preset: 'deit_tiny_patch16_224', numClasses: 10})`); the other args override it. */
  preset?: string;
  numClasses: number;
  /** Square images of this side (default the preset's, else 224). */
  imageSize?: number;
  /** Square patches of this side (default the preset's, else 16); the image side must divide by it. */
  patchSize?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Token width. */
  dim?: number;
  /** Number of transformer blocks. */
  depth?: number;
  /** Attention heads per block (dim must divide by it). */
  heads?: number;
  /** MLP hidden width / dim (default 4). */
  mlpRatio?: number;
  /** Bias on the qkv projection (default true). */
  qkvBias?: boolean;
  /** A class token (default true). */
  classToken?: boolean;
  /** The position embedding covers the class token (default true; false is timm's no_embed_class, DeiT III). */
  embedClass?: boolean;
  /** Head pooling: 'token' (the class token; the default with one) or 'avg' (mean of the patch tokens, with a norm after it). */
  pool?: 'token' | 'avg';
  /** LayerScale's initial value on both branches of every block (timm's init_values; DeiT III 1e-6); default none. */
  layerScale?: number | null;
  /** Dropout after the position embedding, in the MLPs and attention output, and before the head (timm's drop_rate; default 0). */
  dropRate?: number;
  /** Dropout on the attention weights (timm's attn_drop_rate; default 0). */
  attentionDropRate?: number;
  /** LayerNorm epsilon (default 1e-6, timm's). */
  normEpsilon?: number;
}

interface ViTPreset {
  imageSize: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  embedClass?: boolean;
  layerScale?: number;
}

/** timm's ViT and DeiT shapes, by their timm names. */
export const VIT_PRESETS: Readonly<Record<string, ViTPreset>> = Object.freeze({
  vit_tiny_patch16_224: {imageSize: 224, patchSize: 16, dim: 192, depth: 12, heads: 3},
  vit_small_patch16_224: {imageSize: 224, patchSize: 16, dim: 384, depth: 12, heads: 6},
  vit_small_patch32_224: {imageSize: 224, patchSize: 32, dim: 384, depth: 12, heads: 6},
  vit_base_patch16_224: {imageSize: 224, patchSize: 16, dim: 768, depth: 12, heads: 12},
  vit_base_patch32_224: {imageSize: 224, patchSize: 32, dim: 768, depth: 12, heads: 12},
  vit_large_patch16_224: {imageSize: 224, patchSize: 16, dim: 1024, depth: 24, heads: 16},
  deit_tiny_patch16_224: {imageSize: 224, patchSize: 16, dim: 192, depth: 12, heads: 3},
  deit_small_patch16_224: {imageSize: 224, patchSize: 16, dim: 384, depth: 12, heads: 6},
  deit_base_patch16_224: {imageSize: 224, patchSize: 16, dim: 768, depth: 12, heads: 12},
  deit3_small_patch16_224: {imageSize: 224, patchSize: 16, dim: 384, depth: 12, heads: 6, embedClass: false, layerScale: 1e-6},
  deit3_base_patch16_224: {imageSize: 224, patchSize: 16, dim: 768, depth: 12, heads: 12, embedClass: false, layerScale: 1e-6},
});

const VIT_KEYS = [...DROP_KEYS, 'preset', 'numClasses', 'imageSize', 'patchSize', 'inChannels', 'dim', 'depth', 'heads', 'mlpRatio',
  'qkvBias', 'classToken', 'embedClass', 'pool', 'layerScale', 'dropRate', 'attentionDropRate', 'normEpsilon'];

/**
 * A Vision Transformer (Dosovitskiy et al.) / DeiT as timm's
 * `VisionTransformer`: patch embedding (a strided conv) → class token and
 * position embedding → `depth` blocks of `x + drop(ls1(attn(norm1(x))))`,
 * `x + drop(ls2(mlp(norm2(x))))` → norm → pooling → linear head. Input
 * `[batch, imageSize, imageSize, inChannels]` (channels last).
 *
 * @example
 * const model = dp.vit({preset: 'deit_tiny_patch16_224', numClasses: 10, dropPathRate: 0.1});
 * const small = dp.vit({imageSize: 32, patchSize: 4, dim: 192, depth: 12, heads: 3, numClasses: 10, dropPathRate: 0.1});
 */
export function vit(args: ViTArgs): LayersModel {
  if (args === null || typeof args !== 'object') throw new Error(`vit: args must be an object, but received ${describe(args)}.`);
  checkKeys(args, VIT_KEYS, 'vit(args)');
  const preset = checkPreset(VIT_PRESETS, args.preset, 'vit');
  const pick = <T>(key: keyof ViTPreset & keyof ViTArgs, fallback?: T): T => {
    const value = (args as unknown as Record<string, unknown>)[key] ?? (preset as unknown as Record<string, unknown> | undefined)?.[key] ?? fallback;
    if (value === undefined) throw new Error(`vit: ${key} is required (or a preset that gives it), but received undefined.`);
    return value as T;
  };
  const numClasses = checkPositiveInt(args.numClasses, 'vit: numClasses');
  const imageSize = checkPositiveInt(pick('imageSize', 224), 'vit: imageSize');
  const patchSize = checkPositiveInt(pick('patchSize', 16), 'vit: patchSize');
  if (imageSize % patchSize !== 0) throw new Error(`vit: imageSize ${imageSize} must divide by patchSize ${patchSize}.`);
  const inChannels = checkPositiveInt(optional(args.inChannels, 3, 'vit: inChannels'), 'vit: inChannels');
  const dim = checkPositiveInt(pick('dim'), 'vit: dim');
  const depth = checkPositiveInt(pick('depth'), 'vit: depth');
  const heads = checkPositiveInt(pick('heads'), 'vit: heads');
  if (dim % heads !== 0) throw new Error(`vit: dim ${dim} must divide by heads ${heads}.`);
  const hidden = Math.round(dim * positiveNumber(optional(args.mlpRatio, 4, 'vit: mlpRatio'), 'vit: mlpRatio'));
  const qkvBias = checkBoolean(optional(args.qkvBias, true, 'vit: qkvBias'), 'vit: qkvBias');
  const classToken = checkBoolean(optional(args.classToken, true, 'vit: classToken'), 'vit: classToken');
  const embedClass = checkBoolean(pick('embedClass', true), 'vit: embedClass');
  const pool = checkOneOf(optional(args.pool, classToken ? 'token' : 'avg', 'vit: pool'), ['token', 'avg'] as const, 'vit: pool');
  if (pool === 'token' && !classToken) throw new Error("vit: pool 'token' needs the class token; use pool 'avg' with classToken false.");
  const layerScaleValue = args.layerScale === null ? null : pick<number | null>('layerScale', null);
  if (layerScaleValue !== null) positiveNumber(layerScaleValue, 'vit: layerScale');
  const dropRate = checkRate(optional(args.dropRate, 0, 'vit: dropRate'), 'vit: dropRate');
  const attentionDropRate = checkRate(optional(args.attentionDropRate, 0, 'vit: attentionDropRate'), 'vit: attentionDropRate');
  const epsilon = positiveNumber(optional(args.normEpsilon, 1e-6, 'vit: normEpsilon'), 'vit: normEpsilon');
  const activation = checkOneOf(optional(args.classifierActivation, 'softmax', 'vit: classifierActivation'), ['softmax', 'linear'] as const,
    'vit: classifierActivation');
  const drop = dropSettings(args, depth, 'vit');
  const seed = drop.seed;
  const patches = (imageSize / patchSize) ** 2;
  const dropout = (x: SymbolicTensor, name: string) => (dropRate > 0 ? layers.dropout({rate: dropRate, name}).apply(x) as SymbolicTensor : x);
  const norm = (x: SymbolicTensor, name: string) => layers.layerNormalization({epsilon, name}).apply(x) as SymbolicTensor;
  const scale = (x: SymbolicTensor, name: string) => (layerScaleValue === null ? x :
    new LayerScale({initValues: layerScaleValue, projectionDim: dim, name}).apply(x) as SymbolicTensor);

  const inp = input({shape: [imageSize, imageSize, inChannels], name: 'input'});
  let x = layers.conv2d({filters: dim, kernelSize: patchSize, strides: patchSize, kernelInitializer: weights(subSeed(seed, 'patch')),
    name: 'patch_embed_proj'}).apply(inp) as SymbolicTensor;
  x = layers.reshape({targetShape: [patches, dim], name: 'patch_embed_flatten'}).apply(x) as SymbolicTensor;
  x = new ClassTokenPosition({classToken, embedClass, seed: subSeed(seed, 'pos'), name: 'pos_embed'}).apply(x) as SymbolicTensor;
  x = dropout(x, 'pos_drop');
  for (let i = 0; i < depth; i++) {
    const p = `blocks_${i}`;
    const rate = drop.rates[i] as number;
    x = residual(x, (t) => {
      let b = norm(t, `${p}_norm1`);
      b = new MultiHeadSelfAttention({numHeads: heads, qkvBias, attentionDropout: attentionDropRate, projectionDropout: dropRate,
        seed: subSeed(seed, 'attn', i), name: `${p}_attn`}).apply(b) as SymbolicTensor;
      return scale(b, `${p}_ls1`);
    }, rate, drop, {add: `${p}_add1`, drop: `${p}_drop_path1`, residual: `${p}_attn_residual`}, 2 * i);
    x = residual(x, (t) => {
      let b = norm(t, `${p}_norm2`);
      b = layers.dense({units: hidden, activation: 'gelu', kernelInitializer: weights(subSeed(seed, 'fc1', i)), name: `${p}_mlp_fc1`})
        .apply(b) as SymbolicTensor;
      b = dropout(b, `${p}_mlp_drop1`);
      b = layers.dense({units: dim, kernelInitializer: weights(subSeed(seed, 'fc2', i)), name: `${p}_mlp_fc2`}).apply(b) as SymbolicTensor;
      b = dropout(b, `${p}_mlp_drop2`);
      return scale(b, `${p}_ls2`);
    }, rate, drop, {add: `${p}_add2`, drop: `${p}_drop_path2`, residual: `${p}_mlp_residual`}, 2 * i + 1);
  }
  // timm: norm before a token pool; for 'avg', the norm comes after pooling (fc_norm).
  if (pool === 'token') x = norm(x, 'norm');
  x = new TokenPool({pool, prefixTokens: classToken ? 1 : 0, name: 'pool'}).apply(x) as SymbolicTensor;
  if (pool === 'avg') x = norm(x, 'fc_norm');
  x = dropout(x, 'head_drop');
  const out = head(x, numClasses, activation, seed, 'head');
  const m = model({inputs: inp, outputs: out, name: optional(args.name, 'vit', 'vit: name')});
  prepareModelTraining(m, true);
  return m;
}

// ---------------------------------------------------------------- ConvNeXt

/** Arguments of {@link convnext}. */
export interface ConvNeXtArgs extends DropArgs {
  /** A timm model name (`convnext_atto` … `convnext_base`): its depths and dims; the other args override them. */
  preset?: string;
  numClasses: number;
  /** [height, width, channels] (default [224, 224, 3]); height and width must divide by 32, or be null (any such size). */
  inputShape?: [number | null, number | null, number];
  /** Blocks per stage (four stages). */
  depths?: number[];
  /** Channels per stage. */
  dims?: number[];
  /** LayerScale's initial value (default 1e-6, timm's ls_init_value); null for none. */
  layerScaleInit?: number | null;
  /** Depthwise kernel size (default 7). */
  kernelSize?: number;
  /** MLP hidden width / dim (default 4). */
  mlpRatio?: number;
  /** Dropout before the head (timm's drop_rate; default 0). */
  dropRate?: number;
  /** LayerNorm epsilon (default 1e-6, timm's). */
  normEpsilon?: number;
}

/** timm's ConvNeXt sizes, by their timm names. */
export const CONVNEXT_PRESETS: Readonly<Record<string, {depths: number[]; dims: number[]}>> = Object.freeze({
  convnext_atto: {depths: [2, 2, 6, 2], dims: [40, 80, 160, 320]},
  convnext_femto: {depths: [2, 2, 6, 2], dims: [48, 96, 192, 384]},
  convnext_pico: {depths: [2, 2, 6, 2], dims: [64, 128, 256, 512]},
  convnext_nano: {depths: [2, 2, 8, 2], dims: [80, 160, 320, 640]},
  convnext_tiny: {depths: [3, 3, 9, 3], dims: [96, 192, 384, 768]},
  convnext_small: {depths: [3, 3, 27, 3], dims: [96, 192, 384, 768]},
  convnext_base: {depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024]},
});

const CONVNEXT_KEYS = [...DROP_KEYS, 'preset', 'numClasses', 'inputShape', 'depths', 'dims', 'layerScaleInit', 'kernelSize', 'mlpRatio',
  'dropRate', 'normEpsilon'];

function intList(value: unknown, where: string, length?: number): number[] {
  if (!Array.isArray(value) || value.length === 0 || (length !== undefined && value.length !== length)) {
    throw new Error(`${where} must be an array of ${length ?? 'one or more'} positive integers, but received ${describe(value)}.`);
  }
  return value.map((v, i) => checkPositiveInt(v, `${where}[${i}]`));
}

/**
 * ConvNeXt (Liu et al. 2022) as timm's `ConvNeXt`: a 4×4 stride-4 stem conv
 * and LayerNorm; four stages, each after the first opening with LayerNorm and
 * a 2×2 stride-2 conv; blocks `x + drop(gamma · fc2(gelu(fc1(norm(dwconv7×7(x))))))`;
 * global average pooling → LayerNorm → linear head. Channels last.
 *
 * @example
 * const model = dp.convnext({preset: 'convnext_tiny', numClasses: 10, dropPathRate: 0.1});
 */
export function convnext(args: ConvNeXtArgs): LayersModel {
  if (args === null || typeof args !== 'object') throw new Error(`convnext: args must be an object, but received ${describe(args)}.`);
  checkKeys(args, CONVNEXT_KEYS, 'convnext(args)');
  const preset = checkPreset(CONVNEXT_PRESETS, args.preset, 'convnext');
  const numClasses = checkPositiveInt(args.numClasses, 'convnext: numClasses');
  const depths = intList(args.depths ?? preset?.depths, 'convnext: depths');
  const dims = intList(args.dims ?? preset?.dims, 'convnext: dims', depths.length);
  const given = optional<(number | null)[]>(args.inputShape, [224, 224, 3], 'convnext: inputShape');
  // Height and width may be null: the network is fully convolutional (any multiple of the stride, as in timm).
  const shape = Array.isArray(given) && given.length === 3 ?
    [...given.slice(0, 2).map((d, i) => (d === null ? null : checkPositiveInt(d, `convnext: inputShape[${i}]`))),
      checkPositiveInt(given[2], 'convnext: inputShape[2]')] : intList(given, 'convnext: inputShape', 3);
  const stride = 4 * 2 ** (depths.length - 1);
  if ((shape[0] ?? 0) % stride !== 0 || (shape[1] ?? 0) % stride !== 0) {
    throw new Error(`convnext: inputShape's height and width must divide by ${stride} (the stem's 4 and one 2 per later stage), ` +
      `but received ${JSON.stringify(shape)}.`);
  }
  const lsInit = args.layerScaleInit === null ? null : positiveNumber(optional(args.layerScaleInit, 1e-6, 'convnext: layerScaleInit'),
    'convnext: layerScaleInit');
  const kernelSize = checkPositiveInt(optional(args.kernelSize, 7, 'convnext: kernelSize'), 'convnext: kernelSize');
  const mlpRatio = positiveNumber(optional(args.mlpRatio, 4, 'convnext: mlpRatio'), 'convnext: mlpRatio');
  const dropRate = checkRate(optional(args.dropRate, 0, 'convnext: dropRate'), 'convnext: dropRate');
  const epsilon = positiveNumber(optional(args.normEpsilon, 1e-6, 'convnext: normEpsilon'), 'convnext: normEpsilon');
  const activation = checkOneOf(optional(args.classifierActivation, 'softmax', 'convnext: classifierActivation'),
    ['softmax', 'linear'] as const, 'convnext: classifierActivation');
  const total = depths.reduce((a, b) => a + b, 0);
  const drop = dropSettings(args, total, 'convnext');
  const seed = drop.seed;
  const norm = (x: SymbolicTensor, name: string) => layers.layerNormalization({epsilon, name}).apply(x) as SymbolicTensor;

  const inp = input({shape: shape as number[], name: 'input'});
  let x = layers.conv2d({filters: dims[0] as number, kernelSize: 4, strides: 4, kernelInitializer: weights(subSeed(seed, 'stem')),
    name: 'stem_0'}).apply(inp) as SymbolicTensor;
  x = norm(x, 'stem_1');
  let index = 0;
  depths.forEach((blocks, s) => {
    const dim = dims[s] as number;
    if (s > 0) {
      x = norm(x, `stages_${s}_downsample_0`);
      x = layers.conv2d({filters: dim, kernelSize: 2, strides: 2, kernelInitializer: weights(subSeed(seed, 'downsample', s)),
        name: `stages_${s}_downsample_1`}).apply(x) as SymbolicTensor;
    }
    for (let b = 0; b < blocks; b++, index++) {
      const p = `stages_${s}_blocks_${b}`;
      const k = index;
      x = residual(x, (t) => {
        let y = layers.depthwiseConv2d({kernelSize, padding: 'same', depthwiseInitializer: weights(subSeed(seed, 'dw', k)),
          name: `${p}_conv_dw`}).apply(t) as SymbolicTensor;
        y = norm(y, `${p}_norm`);
        y = layers.dense({units: Math.round(mlpRatio * dim), activation: 'gelu', kernelInitializer: weights(subSeed(seed, 'fc1', k)),
          name: `${p}_mlp_fc1`}).apply(y) as SymbolicTensor;
        y = layers.dense({units: dim, kernelInitializer: weights(subSeed(seed, 'fc2', k)), name: `${p}_mlp_fc2`}).apply(y) as SymbolicTensor;
        return lsInit === null ? y : new LayerScale({initValues: lsInit, projectionDim: dim, name: `${p}_gamma`}).apply(y) as SymbolicTensor;
      }, drop.rates[k] as number, drop, {add: `${p}_add`, drop: `${p}_drop_path`, residual: `${p}_residual`}, k);
    }
  });
  x = layers.globalAveragePooling2d({name: 'head_global_pool'}).apply(x) as SymbolicTensor;
  x = norm(x, 'head_norm');
  if (dropRate > 0) x = layers.dropout({rate: dropRate, name: 'head_drop'}).apply(x) as SymbolicTensor;
  const out = head(x, numClasses, activation, seed, 'head_fc');
  const m = model({inputs: inp, outputs: out, name: optional(args.name, 'convnext', 'convnext: name')});
  prepareModelTraining(m, true);
  return m;
}
