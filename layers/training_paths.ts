/**
 * How each layer trains on this backend, decided in one place. A stock
 * tfjs-layers instance keeps its class, config and weights (a saved model is
 * a stock model); only that instance's training call may change, and its
 * inference is the stock call. Nothing is replaced globally.
 *
 * - The fast path: a `BatchNormalization` trains with one fused
 *   batch-norm kernel each way on tfjs-node, an `Activation` 'relu' with one
 *   fused gradient kernel ('fused'; on other backends the same semantics
 *   with tfjs ops, 'portable'); otherwise tfjs-layers' own call ('stock').
 * - The crash guard (below): a strided 1×1 Conv2D trains through a strided
 *   slice and a stride-1 convolution, on every model, fast or not.
 *
 * `prepareTraining(layer, fast)` is the one call that applies both; the
 * builders, pruning, the loaders and `useFastBlocks` all go through it, and
 * `trainingPath` reads the same state.
 */

import {add, conv2d, getBackend, mul, pad, reshape, slice, tidy} from '@tensorflow/tfjs-core';
import type {Tensor, Tensor1D, Tensor4D} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable} from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {activationTrain, FUSED_ACTIVATIONS} from '../src/ops/fused_activation';
import type {FusedActivationName} from '../src/ops/fused_activation';
import {batchNormTrain} from '../src/ops/fused_batch_norm';
import {layerNormalize} from '../src/ops/fused_layer_norm';
import {gelu} from '../src/ops/gelu';
import {kernelStatus} from '../src/internal/tf_kernels';
import type {KernelFamily} from '../src/internal/tf_kernels';
import {exactlyOne} from '../src/internal/tensors';
import {callCount} from '../src/internal/walk';

type Layer = InstanceType<typeof layers.Layer>;
type Call = Layer['call'];

/** The fields of tfjs-layers' BatchNormalization the fast path reads. */
interface StockBatchNorm extends Layer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable;
  beta: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/**
 * Which path a layer's training calls take: 'fused' (TensorFlow's fused
 * kernels, on the tensorflow backend), 'portable' (switched to the fast path,
 * but this backend runs it with tfjs ops of the same semantics), or 'stock'
 * (tfjs-layers' own call).
 */
export type TrainingPath = 'fused' | 'portable' | 'stock';

/** The fields of tfjs-layers' LayerNormalization the fast path reads. */
interface StockLayerNorm extends Layer {
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
}

/** Layers on the fast path: the kernel family whose probe says 'fused' or 'portable'. */
const switched = new WeakMap<Layer, KernelFamily>();
/** A factor a fast BatchNormalization applies to its output during one call (see withOutputScale). */
const outputScale = new WeakMap<Layer, number>();

function activationName(layer: Layer): string | undefined {
  return (layer as {activation?: {getClassName?: () => string}}).activation?.getClassName?.();
}

/** Why `layer` cannot take the fast path, or null when it can. */
export function fastTrainingBlocker(layer: Layer): string | null {
  const cls = layer.getClassName();
  if (cls === 'BatchNormalization') {
    const bn = layer as StockBatchNorm;
    if (!bn.center || !bn.scale) return 'it is a BatchNormalization without center or scale';
    if (bn.axis !== -1 && bn.axis !== 3) return `it is a BatchNormalization over axis ${bn.axis}, not the channels-last axis`;
    return null;
  }
  if (cls === 'Activation') {
    const name = activationName(layer);
    return FUSED_ACTIVATIONS.includes(name as FusedActivationName) ? null :
      `it is an Activation '${name}'; the fast path covers ${FUSED_ACTIVATIONS.map((a) => `'${a}'`).join(', ')} only`;
  }
  if (cls === 'LayerNormalization') {
    const axis = (layer as StockLayerNorm).axis;
    const axes = Array.isArray(axis) ? axis : [axis];
    // Built, tfjs-layers keeps the axis as a positive index: the last one is checked on each call.
    return axes.length === 1 ? null : `it is a LayerNormalization over axes [${axes}], not one axis`;
  }
  return `it is a ${cls}, not a BatchNormalization, a LayerNormalization or an Activation`;
}

/** Whether `layer`'s training calls were switched to the fast path. */
export function usesFastTraining(layer: Layer): boolean {
  return switched.has(layer);
}

/** The path `layer`'s training calls take on the current backend (see {@link TrainingPath}). */
export function trainingPath(layer: Layer): TrainingPath {
  const family = switched.get(layer);
  if (family === undefined) return 'stock';
  return kernelStatus(family).fused ? 'fused' : 'portable';
}

/** Why `layer` takes its training path: the kernel probe's verdict when switched, otherwise why it is not. */
export function trainingPathReason(layer: Layer): string {
  const family = switched.get(layer);
  if (family !== undefined) return kernelStatus(family).reason;
  return fastTrainingBlocker(layer) ?? 'not switched';
}

/* ---- Keras' frozen BatchNormalization. ---- */

/** BatchNormalization layers that follow Keras' rule for `trainable: false` (see setKerasFrozenBatchNorm). */
const kerasFrozen = new WeakSet<Layer>();

/** A call's kwargs under Keras' rule: a non-trainable BatchNormalization runs in inference mode, in training too. */
function frozenKwargs(layer: Layer, kwargs: Kwargs): Kwargs {
  return kwargs?.training === true && kerasFrozen.has(layer) && !layer.trainable ? {...kwargs, training: false} : kwargs;
}

/** tfjs-layers' own call of `layer` (its class's): what an instance falls back to, and gets back when switched off. */
function stockCall(layer: Layer): Call {
  return Object.getPrototypeOf(layer).call as Call;
}

/** The stock call of `layer` under Keras' rule. */
function frozenStockCall(layer: Layer): Call {
  const stock = stockCall(layer);
  return function frozenCall(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    return stock.call(layer, inputs, frozenKwargs(layer, kwargs));
  };
}

/**
 * Keras' rule for a BatchNormalization whose `trainable` is false (Keras 3, and tf.keras since 2.1): it runs in
 * inference mode in training as well — normalizes with its moving statistics and leaves them unchanged — where
 * tfjs-layers normalizes with the batch's statistics and updates the moving ones. On (`true`), the layer's training
 * calls follow Keras while `layer.trainable` is false, read at each call (so freezing after loading works); off
 * restores tfjs' behaviour. Works with the fast path (setFastTraining) in either order. Other layers: a no-op.
 */
export function setKerasFrozenBatchNorm(layer: Layer, enabled: boolean): void {
  if (layer.getClassName() !== 'BatchNormalization') return;
  if (!enabled) {
    if (kerasFrozen.delete(layer) && !switched.has(layer)) delete (layer as {call?: unknown}).call;
    return;
  }
  if (kerasFrozen.has(layer)) return;
  kerasFrozen.add(layer);
  if (!switched.has(layer)) layer.call = frozenStockCall(layer); // the fast call reads the rule itself
}

/** Whether `layer` follows Keras' rule for a frozen BatchNormalization. */
export function followsKerasFrozenBatchNorm(layer: Layer): boolean {
  return kerasFrozen.has(layer);
}

function fastBatchNormCall(bn: StockBatchNorm, stock: Call): Call {
  return function fastCall(inputs: Tensor | Tensor[], given: Kwargs): Tensor | Tensor[] {
    const kwargs = frozenKwargs(bn, given);
    if (kwargs?.training !== true) return stock.call(bn, inputs, kwargs);
    return tidy(() => {
      const x = exactlyOne(inputs, `BatchNormalization '${bn.name}'`);
      const s = outputScale.get(bn);
      const gamma = bn.gamma.read() as Tensor1D;
      const beta = bn.beta.read() as Tensor1D;
      // s · (γ·x̂ + β) = (s·γ)·x̂ + s·β: the scale costs two [C] products, and gradients flow through them.
      // tfjs-layers' update of the moving statistics: v ← v − (v − batch) · (1 − momentum), computed with the normalization.
      const moving = {mean: bn.movingMean.read() as Tensor1D, variance: bn.movingVariance.read() as Tensor1D, momentum: bn.momentum};
      const {y, movingMean, movingVariance} = s === undefined ? batchNormTrain(x, gamma, beta, bn.epsilon, moving) :
        batchNormTrain(x, mul(gamma, s), mul(beta, s), bn.epsilon, moving);
      bn.movingMean.write(movingMean as Tensor1D);
      bn.movingVariance.write(movingVariance as Tensor1D);
      return y;
    });
  };
}

/**
 * LayerNormalization over the last axis: x̂ · γ + β with broadcasting, x̂ from src/ops/fused_layer_norm.ts (one
 * FusedBatchNormV3 each way on tfjs-node; moments and broadcasting elsewhere). tfjs-layers' own call tiles γ, β and the moments to
 * the input's shape first, and tfjs' Tile gradient is a slice and an add per repetition — for tokens [32, 65, 192],
 * 2,080 of each per tiled tensor, about 100,000 kernels in one ViT-Ti step.
 */
function fastLayerNormCall(ln: StockLayerNorm, stock: Call): Call {
  return function fastCall(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const x = exactlyOne(inputs, `LayerNormalization '${ln.name}'`);
    const axis = Array.isArray(ln.axis) ? ln.axis[0] : ln.axis;
    if (kwargs?.training !== true || (axis !== -1 && axis !== x.rank - 1)) return stock.call(ln, inputs, kwargs);
    return tidy(() => {
      let y = layerNormalize(x, ln.epsilon).y;
      if (ln.scale && ln.gamma) y = mul(y, ln.gamma.read());
      if (ln.center && ln.beta) y = add(y, ln.beta.read());
      return y;
    });
  };
}

function fastActivationCall(layer: Layer, name: FusedActivationName, stock: Call): Call {
  return function fastCall(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    if (kwargs?.training !== true) return stock.call(layer, inputs, kwargs);
    return activationTrain(exactlyOne(inputs, `Activation '${layer.name}'`), name).y;
  };
}

/**
 * The layer that computes `model`'s output, when it is a BatchNormalization
 * on the fast path applied exactly once in `model`: a layer whose output can
 * be scaled for free (see {@link withOutputScale}); otherwise null.
 */
export function scaledOutputLayer(model: Layer): Layer | null {
  const outputs = (model as {outputs?: {sourceLayer: Layer}[]}).outputs;
  const last = Array.isArray(outputs) && outputs.length === 1 ? outputs[0]?.sourceLayer : undefined;
  if (!last || switched.get(last) !== 'batchNorm' || callCount(last) !== 1) return null;
  return last;
}

/**
 * Runs `fn` with `layer` (from {@link scaledOutputLayer}) multiplying its
 * training output by `scale`: `fn()`'s result is then that of the unscaled
 * call times `scale`, within float32 rounding. Only for the duration of `fn`.
 */
export function withOutputScale<T>(layer: Layer, scale: number, fn: () => T): T {
  if (outputScale.has(layer)) throw new Error(`withOutputScale: layer '${layer.name}' is already scaled (a re-entrant call).`);
  outputScale.set(layer, scale);
  try {
    return fn();
  } finally {
    outputScale.delete(layer);
  }
}

/**
 * Switches one BatchNormalization or Activation 'relu' instance to
 * the fast training path (`true`) or back to the stock call (`false`).
 * Throws, saying why, for a layer that cannot take it (switching such a layer
 * off is a no-op). Rank-4 float32 batch norms and float32 activations take
 * the fused kernels on tfjs-node; anything else runs the same semantics with
 * tfjs ops.
 */
export function setFastTraining(layer: Layer, enabled: boolean): void {
  if (!enabled) {
    if (switched.delete(layer)) {
      delete (layer as {call?: unknown}).call; // the prototype's (stock) call again
      if (kerasFrozen.has(layer)) layer.call = frozenStockCall(layer);
    }
    return;
  }
  const blocker = fastTrainingBlocker(layer);
  if (blocker !== null) throw new Error(`setFastTraining: layer '${layer.name}' cannot take the fast path: ${blocker}.`);
  if (switched.has(layer)) return;
  const stock = stockCall(layer);
  if (layer.getClassName() === 'BatchNormalization') {
    layer.call = fastBatchNormCall(layer as StockBatchNorm, stock);
    switched.set(layer, 'batchNorm');
  } else if (layer.getClassName() === 'LayerNormalization') {
    layer.call = fastLayerNormCall(layer as StockLayerNorm, stock);
    switched.set(layer, 'layerNorm');
  } else {
    layer.call = fastActivationCall(layer, activationName(layer) as FusedActivationName, stock);
    switched.set(layer, 'activationGrad');
  }
}

/* ---- The crash guard for strided 1×1 convolutions. ---- */

/*
 * A guard for a crash of tfjs-node: the gradient of a 1×1 convolution with a
 * stride above 1 (a ResNet projection shortcut) corrupts the heap in the
 * libtensorflow that @tensorflow/tfjs-node 4.22 ships (oneDNN's
 * Conv2DBackpropFilter when the stride exceeds the kernel; the process aborts
 * with "corrupted size vs. prev_size" or "munmap_chunk(): invalid pointer").
 * For a 1×1 kernel, a strided convolution reads exactly the input pixels
 * x[:, ::s, ::s, :] (no padding arises for 'same' or 'valid'), so the
 * guarded layer's training call takes that strided slice and convolves it
 * with stride 1 — the same arithmetic per output, through kernels that work.
 * The layer keeps its class, config and weights; inference is the stock call.
 */

interface StockConv2D extends Layer {
  kernelSize: number[];
  strides: number[];
  dilationRate: number | number[];
  dataFormat: string;
  useBias: boolean;
  kernel: LayerVariable;
  bias: LayerVariable | null;
  activation: {apply(x: Tensor): Tensor};
}

const guarded = new WeakSet<Layer>();

/**
 * x[:, ::sh, ::sw, :] with ops that have gradients in tfjs (its stridedSlice
 * has none): pad H and W up to multiples of the strides, fold each stride
 * into its own axis, keep index 0 of it.
 */
function everyStride(x: Tensor4D, [sh, sw]: [number, number]): Tensor4D {
  const [n, h, w, c] = x.shape;
  const oh = Math.ceil(h / sh);
  const ow = Math.ceil(w / sw);
  const padded = oh * sh === h && ow * sw === w ? x : pad(x, [[0, 0], [0, oh * sh - h], [0, ow * sw - w], [0, 0]]);
  const folded = reshape(padded, [n, oh, sh, ow, sw, c]);
  return reshape(slice(folded, [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]), [n, oh, ow, c]);
}

/** Whether `layer` is a Conv2D whose gradient the guard reroutes: a 1×1 kernel, a stride above 1, no dilation, channels last. */
export function needsConvGuard(layer: Layer): boolean {
  if (layer.getClassName() !== 'Conv2D') return false;
  const conv = layer as StockConv2D;
  const dilation = Array.isArray(conv.dilationRate) ? conv.dilationRate : [conv.dilationRate];
  return conv.kernelSize.every((k) => k === 1) && conv.strides.some((s) => s > 1) && dilation.every((d) => d === 1) &&
    conv.dataFormat === 'channelsLast';
}

/** Whether `layer`'s training calls go through the guard. */
export function isConvGuarded(layer: Layer): boolean {
  return guarded.has(layer);
}

/**
 * Guards one layer (a no-op for a layer that does not need it, or that is
 * guarded already). Returns whether the layer is guarded.
 */
export function guardStridedPointwiseConv(layer: Layer): boolean {
  if (!needsConvGuard(layer)) return false;
  if (guarded.has(layer)) return true;
  const conv = layer as StockConv2D;
  const stock = layer.call;
  layer.call = function guardedCall(this: Layer, inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    if (kwargs?.training !== true || getBackend() !== 'tensorflow') return stock.call(this, inputs, kwargs);
    return tidy(() => {
      const x = exactlyOne(inputs, `Conv2D '${conv.name}'`) as Tensor4D;
      const picked = everyStride(x, conv.strides as [number, number]);
      let y: Tensor = conv2d(picked, conv.kernel.read() as Tensor4D, 1, 'valid');
      if (conv.useBias && conv.bias) y = add(y, conv.bias.read());
      return conv.activation.apply(y);
    });
  };
  guarded.add(layer);
  return true;
}

/** Guards every layer of `all` that needs it; returns how many are guarded. */
export function guardStridedPointwiseConvs(all: Iterable<Layer>): number {
  let n = 0;
  for (const layer of all) if (guardStridedPointwiseConv(layer)) n++;
  return n;
}

/**
 * The one decision of how `layer` trains: the crash guard when it needs it
 * (always: it is not a speed-up), and the fast path when `fast` is true and
 * the layer can take it (false switches it back to the stock call). Layers
 * that neither concerns are left alone.
 */
export function prepareTraining(layer: Layer, fast: boolean): void {
  if (needsConvGuard(layer)) guardStridedPointwiseConv(layer);
  setFastGelu(layer, fast);
  const cls = layer.getClassName();
  if (cls !== 'BatchNormalization' && cls !== 'Activation' && cls !== 'LayerNormalization') return;
  if (!fast) setFastTraining(layer, false);
  else if (fastTrainingBlocker(layer) === null) setFastTraining(layer, true);
}

/** The activation objects whose apply is the fast GELU (an own property over tfjs-layers' Gelu.apply). */
const fastGelus = new WeakSet<object>();

/**
 * A layer with activation 'gelu' (Dense, Conv2D, …: tfjs-layers' Gelu object in `layer.activation`) applies
 * src/ops/gelu.ts' GELU — the same values, a cheaper gradient — on `fast`, tfjs-layers' own apply otherwise.
 * The object keeps its class, so the layer's config (activation: 'gelu') does not change.
 */
export function setFastGelu(layer: Layer, fast: boolean): void {
  const act = (layer as {activation?: {getClassName?: () => string; apply?: unknown}}).activation;
  if (!act || typeof act.getClassName !== 'function' || act.getClassName() !== 'gelu') return;
  if (fast && !fastGelus.has(act)) {
    act.apply = (x: Tensor) => gelu(x);
    fastGelus.add(act);
  } else if (!fast && fastGelus.delete(act)) {
    delete act.apply; // the prototype's (stock) apply again
  }
}
