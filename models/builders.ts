/**
 * Residual model builders on the functional API: SymbolicTensor in,
 * SymbolicTensor out (and a LayersModel from `resnet`). Layer names derive
 * from `name`, so models built with distinct names save and load.
 */
import {initializers, input, layers, model} from '@tensorflow/tfjs-layers';
import type {LayersModel, SymbolicTensor} from '@tensorflow/tfjs-layers';

import {DropPath} from '../layers/drop_path';
import {prepareTraining} from '../layers/training_paths';
import {StochasticResidual} from '../layers/stochastic_residual';
import type {DropStrategy} from '../layers/stochastic_residual';
import {subSeed} from '../src/internal/seeds';
import {checkKeys, checkOneOf, checkPositiveInt, checkRate, checkSeed, describe, optional} from '../src/internal/validate';
import type {DropMode} from '../src/internal/validate';
import {blockRates} from '../src/schedules';
import type {DepthSchedule, DepthScheduleName} from '../src/schedules';

/** Activations the builders accept (any tf.layers.activation identifier). */
export type Activation = 'relu' | 'relu6' | 'elu' | 'selu' | 'swish' | 'mish' | 'gelu' | 'tanh' | 'sigmoid' | 'linear';

export interface ConvBnActArgs {
  filters: number;
  kernelSize: number;
  /** Default 1. */
  strides?: number;
  /** Default 'relu'; null for none. */
  activation?: Activation | null;
  /** Prefix of the layer names: `${name}_conv`, `${name}_bn`, `${name}_act`. Default: tfjs' own unique names. */
  name?: string;
  /** Seed of the kernel initializer (He normal). */
  seed?: number;
  /** Initial BatchNorm gamma: 'ones' (default) or 'zeros'. */
  gammaInitializer?: 'ones' | 'zeros';
  /**
   * Momentum of the BatchNorm moving statistics. Default 0.9 (PyTorch's 0.1 in
   * its convention): tf.layers' 0.99 leaves the statistics stale for the first
   * few hundred steps, which short trainings never leave.
   */
  bnMomentum?: number;
  /**
   * Train the BatchNorm and the ReLU with TensorFlow's fused kernels
   * on tfjs-node (the same numbers as stock tf.layers; see `useFastBlocks`).
   * Default true; false keeps tfjs-layers' stock training calls.
   */
  fastPath?: boolean;
}

/**
 * How a block carries its drop: 'dropPath' (default), a DropPath layer on
 * the branch before the add; 'stochasticResidual', the whole block as one
 * StochasticResidual layer (branch and shortcut as nested models), which
 * skips the work of dropped samples; 'plain', no drop layer at all.
 */
export type BlockType = 'dropPath' | 'stochasticResidual' | 'plain';
const BLOCK_TYPES: readonly BlockType[] = ['dropPath', 'stochasticResidual', 'plain'];

/** The options a bottleneck block takes, which `resnet` passes to every block. */
export interface BlockOptions {
  /** The inner (bottleneck) width is filters / reduction. Default 4. */
  reduction?: number;
  /** DropPath granularity. Default 'row'. */
  dropPathMode?: DropMode;
  /**
   * Start the branch's last BatchNorm at gamma = 0, so that every block starts
   * as its shortcut (Goyal et al. 2017; timm's `zero_init_last`). Default
   * false: it pays off over long trainings and slowed the short digits demo.
   */
  zeroInitLastBn?: boolean;
  /** BatchNorm momentum of every convBnAct in the block. Default 0.9. */
  bnMomentum?: number;
  /** How the block carries its drop (see {@link BlockType}). Default 'dropPath'. */
  blockType?: BlockType;
  /** With blockType 'stochasticResidual': 'skip' (default) or 'mask'. */
  strategy?: DropStrategy;
  /** Fused training kernels for every BatchNorm and ReLU of the block (see ConvBnActArgs.fastPath). Default true. */
  fastPath?: boolean;
}

export interface BottleneckArgs extends BlockOptions {
  /** Output channels of the block. */
  filters: number;
  /** Stride of the 3×3 conv and of the projection shortcut. Default 1. */
  strides?: number;
  /** Drop rate of the DropPath on the branch. Default 0 (the layer is still there, for schedules). */
  dropPathRate?: number;
  /** Prefix of every layer name of the block. Default: tfjs' own unique names. */
  name?: string;
  /** Seed of the block's initializers and of its drop stream. */
  seed?: number;
}

export interface StageSpec {
  filters: number;
  blocks: number;
  /** Stride of the stage's first block. Default 1. */
  strides?: number;
}

export interface StemSpec {
  filters: number;
  /** Default 3. */
  kernelSize?: number;
  /** Default 1. */
  strides?: number;
}

export interface ResNetArgs extends BlockOptions {
  /** [height, width, channels]. */
  inputShape: number[];
  numClasses: number;
  stages: StageSpec[];
  /** The maximum per-block drop rate (p_L for 'linear'). Default 0. */
  dropPathRate?: number;
  /** How rates spread over the blocks in depth order. Default 'linear'. */
  schedule?: DepthScheduleName | DepthSchedule | readonly number[];
  /** Default: a 3×3 convBnAct with max(8, stages[0].filters / reduction) filters, stride 1; null for none. */
  stem?: StemSpec | null;
  /** Seed of all initializers and drop streams: the same seed, the same model. */
  seed?: number;
  /** Model name. Default 'resnet'. */
  name?: string;
}

/* Every key each argument object takes: a misspelt one (dropPathRat) is refused, never ignored. */
const CONV_BN_ACT_KEYS = ['filters', 'kernelSize', 'strides', 'activation', 'name', 'seed', 'gammaInitializer', 'bnMomentum',
  'fastPath'];
const BLOCK_KEYS = ['reduction', 'dropPathMode', 'zeroInitLastBn', 'bnMomentum', 'blockType', 'strategy', 'fastPath'];
const BOTTLENECK_KEYS = [...BLOCK_KEYS, 'filters', 'strides', 'dropPathRate', 'name', 'seed'];
const RESNET_KEYS = [...BLOCK_KEYS, 'inputShape', 'numClasses', 'stages', 'dropPathRate', 'schedule', 'stem', 'seed', 'name'];

/**
 * `${prefix}_${suffix}` for a named block; undefined without a name, so that
 * tfjs-layers gives the layer its own unique name.
 */
function layerName(prefix: string | undefined, suffix: string): string | undefined {
  return prefix === undefined ? undefined : `${prefix}_${suffix}`;
}

function channelsOf(x: SymbolicTensor, where: string): number {
  if (!x || !Array.isArray(x.shape)) {
    throw new Error(`${where}: x must be a SymbolicTensor (from tf.input or a layer's apply), but received ${describe(x)}.`);
  }
  const c = x.shape[x.shape.length - 1];
  if (x.shape.length !== 4 || typeof c !== 'number') {
    throw new Error(`${where}: x must have shape [batch, height, width, channels] with known channels, ` +
      `but received shape ${JSON.stringify(x.shape)}.`);
  }
  return c;
}

function checkFastPath(value: unknown, where: string): boolean {
  const fast = optional(value, true, `${where}: fastPath`);
  if (typeof fast !== 'boolean') throw new Error(`${where}: fastPath must be a boolean, but received ${describe(fast)}.`);
  return fast;
}

/** A stock tf.layers Activation, on the fast training path when asked and when it has one. */
function activationLayer(activation: Activation, name: string | undefined, fast: boolean) {
  const layer = layers.activation({activation, name});
  prepareTraining(layer, fast);
  return layer;
}

/**
 * Conv2D (same padding, no bias: the BatchNorm's beta is the bias) →
 * BatchNormalization → activation. All three are stock tf.layers classes; with
 * `fastPath` (the default) the BatchNorm and a ReLU train with
 * TensorFlow's fused kernels on tfjs-node.
 *
 * @example
 * const x = tf.input({shape: [28, 28, 1]});
 * const y = dp.convBnAct(x, {filters: 16, kernelSize: 3, name: 'stem'});
 */
export function convBnAct(x: SymbolicTensor, args: ConvBnActArgs): SymbolicTensor {
  if (args === null || typeof args !== 'object') {
    throw new Error(`convBnAct: args must be an object with filters and kernelSize, but received ${describe(args)}.`);
  }
  const where = `convBnAct${args.name ? ` '${args.name}'` : ''}`;
  checkKeys(args, CONV_BN_ACT_KEYS, `${where}(x, args)`);
  channelsOf(x, where);
  const filters = checkPositiveInt(args.filters, `${where}: filters`);
  const kernelSize = checkPositiveInt(args.kernelSize, `${where}: kernelSize`);
  const strides = checkPositiveInt(optional(args.strides, 1, `${where}: strides`), `${where}: strides`);
  const seed = checkSeed(args.seed, `${where}: seed`);
  const name = optional<string | undefined>(args.name, undefined, `${where}: name`);
  const conv = layers.conv2d({
    filters, kernelSize, strides, padding: 'same', useBias: false, name: layerName(name, 'conv'),
    kernelInitializer: initializers.heNormal({seed}),
  });
  let y = conv.apply(x) as SymbolicTensor;
  const momentum = optional(args.bnMomentum, 0.9, `${where}: bnMomentum`);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
    throw new Error(`${where}: bnMomentum must be a number in [0, 1), but received ${describe(momentum)}.`);
  }
  const fast = checkFastPath(args.fastPath, where);
  // How each layer trains (the crash guard for a strided 1×1, the fast path): layers/training_paths.
  prepareTraining(conv, fast);
  const bn = layers.batchNormalization({name: layerName(name, 'bn'), gammaInitializer: optional(args.gammaInitializer, 'ones', `${where}: gammaInitializer`), momentum});
  prepareTraining(bn, fast);
  y = bn.apply(y) as SymbolicTensor;
  const activation = args.activation === undefined ? 'relu' : args.activation;
  if (activation !== null) {
    y = activationLayer(activation, layerName(name, 'act'), fast).apply(y) as SymbolicTensor;
  }
  return y;
}

/**
 * A residual bottleneck block (ResNet v1.5: the stride sits on the 3×3):
 * branch = 1×1 reduce → 3×3 (strides) → 1×1 expand (no activation), then
 * DropPath(dropPathRate) on the branch, add the shortcut, ReLU. The shortcut
 * is the identity, or a projection (1×1 conv with the stride + BN) when the
 * input channels differ from `filters` or strides ≠ 1.
 *
 * Input: [B, H, W, C]. Output: [B, ceil(H / strides), ceil(W / strides), filters].
 *
 * @example
 * const x = tf.input({shape: [16, 16, 64]});
 * const y = dp.bottleneck(x, {filters: 128, strides: 2, dropPathRate: 0.1, name: 'block1'});
 */
export function bottleneck(x: SymbolicTensor, args: BottleneckArgs): SymbolicTensor {
  if (args === null || typeof args !== 'object') {
    throw new Error(`bottleneck: args must be an object with filters, but received ${describe(args)}.`);
  }
  const where = `bottleneck${args.name ? ` '${args.name}'` : ''}`;
  checkKeys(args, BOTTLENECK_KEYS, `${where}(x, args)`);
  const inChannels = channelsOf(x, where);
  const filters = checkPositiveInt(args.filters, `${where}: filters`);
  const reduction = checkPositiveInt(optional(args.reduction, 4, `${where}: reduction`), `${where}: reduction`);
  if (filters % reduction !== 0) {
    throw new Error(`${where}: reduction must divide filters (${filters}), but received ${reduction}.`);
  }
  const strides = checkPositiveInt(optional(args.strides, 1, `${where}: strides`), `${where}: strides`);
  const rate = checkRate(optional(args.dropPathRate, 0, `${where}: dropPathRate`), `${where}: dropPathRate`);
  const seed = checkSeed(args.seed, `${where}: seed`);
  const name = optional<string | undefined>(args.name, undefined, `${where}: name`);
  const mid = filters / reduction;

  const bnMomentum = args.bnMomentum;
  const fastPath = checkFastPath(args.fastPath, where);
  const zeroInit = optional(args.zeroInitLastBn, false, `${where}: zeroInitLastBn`);
  if (typeof zeroInit !== 'boolean') {
    throw new Error(`${where}: zeroInitLastBn must be a boolean, but received ${describe(zeroInit)}.`);
  }
  const blockType = checkOneOf(optional(args.blockType, 'dropPath', `${where}: blockType`), BLOCK_TYPES, `${where}: blockType`);
  const mode = optional(args.dropPathMode, 'row', `${where}: dropPathMode`);
  const makeBranch = (inp: SymbolicTensor) => {
    let b = convBnAct(inp, {filters: mid, kernelSize: 1, name: layerName(name, 'reduce'), seed: subSeed(seed, 'reduce'), bnMomentum, fastPath});
    b = convBnAct(b, {filters: mid, kernelSize: 3, strides, name: layerName(name, 'conv'), seed: subSeed(seed, 'conv'), bnMomentum, fastPath});
    return convBnAct(b, {filters, kernelSize: 1, activation: null, name: layerName(name, 'expand'), seed: subSeed(seed, 'expand'),
      gammaInitializer: zeroInit ? 'zeros' : 'ones', bnMomentum, fastPath});
  };
  const project = inChannels !== filters || strides !== 1;
  const makeShortcut = (inp: SymbolicTensor) => convBnAct(inp, {filters, kernelSize: 1, strides, activation: null,
    name: layerName(name, 'shortcut'), seed: subSeed(seed, 'shortcut'), bnMomentum, fastPath});

  let sum: SymbolicTensor;
  if (blockType === 'stochasticResidual') {
    // Branch and shortcut become nested models that the wrapper owns and skips.
    const sub = (suffix: string, make: (inp: SymbolicTensor) => SymbolicTensor) => {
      const inp = input({shape: x.shape.slice(1) as number[], name: layerName(name, `${suffix}_input`)});
      return model({inputs: inp, outputs: make(inp), name: layerName(name, `${suffix}_path`)});
    };
    sum = new StochasticResidual({
      branch: sub('branch', makeBranch), shortcut: project ? sub('shortcut', makeShortcut) : null,
      rate, mode, strategy: optional(args.strategy, 'skip', `${where}: strategy`), seed: subSeed(seed, 'drop'), name: layerName(name, 'residual'),
    }).apply(x) as SymbolicTensor;
  } else {
    let branch = makeBranch(x);
    if (blockType === 'dropPath') {
      branch = new DropPath({rate, mode, seed: subSeed(seed, 'drop'), name: layerName(name, 'drop_path')}).apply(branch) as SymbolicTensor;
    }
    const shortcut = project ? makeShortcut(x) : x;
    sum = layers.add({name: layerName(name, 'add')}).apply([shortcut, branch]) as SymbolicTensor;
  }
  return activationLayer('relu', layerName(name, 'out'), fastPath).apply(sum) as SymbolicTensor;
}

/** The per-block plan of a resnet: name, filters, strides and drop rate, in depth order. */
export interface BlockPlan {
  name: string;
  filters: number;
  strides: number;
  dropPathRate: number;
}

/** Validates resnet args and lays out its blocks (exported for tests and summaries). */
export function planResNet(args: ResNetArgs): BlockPlan[] {
  if (args === null || typeof args !== 'object') {
    throw new Error(`resnet: args must be an object, but received ${describe(args)}.`);
  }
  checkKeys(args, RESNET_KEYS, 'resnet(args)');
  if (!Array.isArray(args.stages) || args.stages.length === 0) {
    throw new Error(`resnet: stages must be a non-empty array of {filters, blocks, strides?}, but received ${describe(args.stages)}.`);
  }
  const plan: Omit<BlockPlan, 'dropPathRate'>[] = [];
  args.stages.forEach((stage, s) => {
    const where = `resnet: stages[${s}]`;
    if (stage === null || typeof stage !== 'object') {
      throw new Error(`${where} must be an object {filters, blocks, strides?}, but received ${describe(stage)}.`);
    }
    checkKeys(stage, ['filters', 'blocks', 'strides'], where);
    const filters = checkPositiveInt(stage.filters, `${where}.filters`);
    const blocks = checkPositiveInt(stage.blocks, `${where}.blocks`);
    const strides = checkPositiveInt(optional(stage.strides, 1, `${where}.strides`), `${where}.strides`);
    for (let b = 0; b < blocks; b++) {
      plan.push({name: `stage${s + 1}_block${b + 1}`, filters, strides: b === 0 ? strides : 1});
    }
  });
  const maxRate = checkRate(optional(args.dropPathRate, 0, 'resnet: dropPathRate'), 'resnet: dropPathRate');
  const rates = blockRates(optional<ResNetArgs['schedule']>(args.schedule, 'linear', 'resnet: schedule') as DepthScheduleName, plan.length, maxRate, 'resnet: schedule');
  return plan.map((p, i) => ({...p, dropPathRate: rates[i] as number}));
}

/**
 * A bottleneck ResNet: stem (convBnAct) → stages of {@link bottleneck} blocks
 * → global average pooling → dense softmax head. Per-block drop rates come
 * from `schedule` applied over all blocks in depth order (Huang et al.'s
 * linear decay by default, reaching `dropPathRate` at the last block).
 *
 * @example
 * const model = dp.resnet({inputShape: [28, 28, 1], numClasses: 10,
 *   stages: [{filters: 32, blocks: 2}, {filters: 64, blocks: 2, strides: 2}], dropPathRate: 0.2});
 */
export function resnet(args: ResNetArgs): LayersModel {
  const plan = planResNet(args);
  if (!Array.isArray(args.inputShape) || args.inputShape.length !== 3) {
    throw new Error(`resnet: inputShape must be [height, width, channels], but received ${describe(args.inputShape)}.`);
  }
  args.inputShape.forEach((d, i) => checkPositiveInt(d, `resnet: inputShape[${i}]`));
  const numClasses = checkPositiveInt(args.numClasses, 'resnet: numClasses');
  const reduction = checkPositiveInt(optional(args.reduction, 4, 'resnet: reduction'), 'resnet: reduction');
  const seed = checkSeed(args.seed, 'resnet: seed');
  args.stages.forEach((stage, i) => {
    if (stage.filters % reduction !== 0) {
      throw new Error(`resnet: stages[${i}].filters (${stage.filters}) must be divisible by reduction ` +
        `(${reduction}${args.reduction === undefined ? ', the default' : ''}): a bottleneck's inner width is filters / reduction.`);
    }
  });
  const first = args.stages[0] as StageSpec;
  const stem = args.stem === undefined ? {filters: Math.max(first.filters / reduction, 8)} : args.stem;
  if (stem !== null) {
    if (typeof stem !== 'object') {
      throw new Error(`resnet: stem must be an object {filters, kernelSize?, strides?} or null (no stem), but received ${describe(stem)}.`);
    }
    checkKeys(stem, ['filters', 'kernelSize', 'strides'], 'resnet: stem');
    checkPositiveInt(stem.filters, 'resnet: stem.filters');
  }

  const inp = input({shape: args.inputShape, name: 'input'});
  let x: SymbolicTensor = inp;
  if (stem !== null) {
    x = convBnAct(x, {filters: stem.filters, kernelSize: optional(stem.kernelSize, 3, 'resnet: stem.kernelSize'), strides: optional(stem.strides, 1, 'resnet: stem.strides'),
      name: 'stem', seed: subSeed(seed, 'stem'), bnMomentum: args.bnMomentum, fastPath: args.fastPath});
  }
  plan.forEach((block, i) => {
    x = bottleneck(x, {filters: block.filters, reduction, strides: block.strides, dropPathRate: block.dropPathRate,
      dropPathMode: args.dropPathMode, name: block.name, seed: subSeed(seed, 'block', i),
      zeroInitLastBn: args.zeroInitLastBn, bnMomentum: args.bnMomentum, blockType: args.blockType,
      strategy: args.strategy, fastPath: args.fastPath});
  });
  x = layers.globalAveragePooling2d({name: 'pool'}).apply(x) as SymbolicTensor;
  const out = layers.dense({units: numClasses, activation: 'softmax', name: 'head',
    kernelInitializer: initializers.glorotUniform({seed: subSeed(seed, 'head')})}).apply(x) as SymbolicTensor;
  return model({inputs: inp, outputs: out, name: optional(args.name, 'resnet', 'resnet: name')});
}
