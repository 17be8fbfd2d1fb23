/**
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
import {add, conv2d, getBackend, pad, reshape, slice, tidy} from '@tensorflow/tfjs-core';
import type {Tensor, Tensor4D} from '@tensorflow/tfjs-core';
import {layers} from '@tensorflow/tfjs-layers';
import type {LayerVariable} from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {exactlyOne} from '../src/internal/tensors';

type Layer = InstanceType<typeof layers.Layer>;

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
