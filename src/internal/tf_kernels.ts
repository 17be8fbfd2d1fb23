/**
 * TensorFlow kernels by name on the `tensorflow` backend (tfjs-node and
 * tfjs-node-gpu), for the fused training paths. Everything here is taken from
 * the backend object that is loaded — never imported from a package folder —
 * so a GPU-only install works the same. These are tfjs-node internals: each
 * kernel family is probed once per backend instance on tiny inputs with known
 * answers, and a backend that lacks the entry points, throws, or answers
 * wrongly (another tfjs version; TensorFlow's `_FusedBatchNormEx` on CPU fails
 * this way, returning empty outputs after an error) gets `null`, so callers
 * take the portable path. `kernelStatus` says which path and why.
 */
import {backend, getBackend, keep, tensor, tensor1d, tidy} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

/** An attribute of a TensorFlow op, as tfjs-node's binding takes it. */
export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface Binding {
  TF_ATTR_TYPE: number;
  TF_FLOAT: number;
  TF_INT32: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_BOOL: number;
}

/** The part of tfjs-node's NodeJSKernelBackend this package uses. */
export interface TensorflowKernels {
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
  binding: Binding;
}

/** The kernel families, each probed on its own. */
export type KernelFamily = 'batchNorm' | 'layerNorm' | 'activationGrad' | 'mulNoNan' | 'scatterAdd';

interface Probe {
  kernels: TensorflowKernels | null;
  reason: string;
}

let probes = new WeakMap<object, Map<KernelFamily, Probe>>();
let disabled: string | null = null;

/** The float32 type attribute `T` (and `U`, for batch norm). */
export function floatAttr(k: TensorflowKernels, name = 'T'): OpAttr {
  return {name, type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_FLOAT};
}

function entryPoints(be: object): TensorflowKernels | null {
  const k = be as Partial<TensorflowKernels>;
  const b = k.binding as Partial<Binding> | undefined;
  const ok = typeof k.executeSingleOutput === 'function' && typeof k.executeMultipleOutputs === 'function' &&
    b !== undefined && ['TF_ATTR_TYPE', 'TF_FLOAT', 'TF_INT32', 'TF_ATTR_FLOAT', 'TF_ATTR_STRING', 'TF_ATTR_BOOL']
      .every((key) => typeof b[key as keyof Binding] === 'number');
  return ok ? k as TensorflowKernels : null;
}

const close = (got: ArrayLike<number>, want: number[]) =>
  got.length === want.length && want.every((w, i) => Math.abs((got[i] as number) - w) <= 1e-4 * (1 + Math.abs(w)));

/** `TensorScatterAdd(x, indices, updates)`: x with `updates` added at rows `indices` ([k, 1] int32), one kernel. */
export function tensorScatterAdd(k: TensorflowKernels, x: Tensor, indices: Tensor, updates: Tensor): Tensor {
  return k.executeSingleOutput('TensorScatterAdd', [floatAttr(k), {name: 'Tindices', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_INT32}],
    [x, indices, updates]);
}

/** Batch-norm attributes shared by the forward and backward kernels (training mode, NHWC). */
export function batchNormAttrs(k: TensorflowKernels, epsilon: number, dataFormat: 'NHWC' | 'NCHW' = 'NHWC'): OpAttr[] {
  const B = k.binding;
  return [floatAttr(k, 'T'), floatAttr(k, 'U'),
    {name: 'epsilon', type: B.TF_ATTR_FLOAT, value: epsilon},
    {name: 'data_format', type: B.TF_ATTR_STRING, value: dataFormat},
    {name: 'is_training', type: B.TF_ATTR_BOOL, value: true}];
}

/** One empty float32 tensor per backend instance, kept: the batch-norm kernels' mean and variance inputs when there are none. */
const empties = new WeakMap<object, Tensor>();
export function emptyInput(): Tensor {
  const be = backend();
  let e = empties.get(be);
  if (!e || e.isDisposed) {
    e = keep(tensor1d([], 'float32'));
    empties.set(be, e);
  }
  return e;
}

/** `fn`'s answer, with every tensor it made disposed. */
function inScope<T>(fn: () => T): T {
  let result: T | undefined;
  tidy(() => {
    result = fn();
  });
  return result as T;
}

/**
 * Probes: run each family on [2, 1, 1, 2]-sized inputs whose answers are
 * computed here in plain JavaScript; any difference is a failure.
 */
const PROBES: Record<KernelFamily, (k: TensorflowKernels) => string | null> = {
  batchNorm: (k) => inScope(() => {
    const eps = 1e-3;
    const xs = [1, 10, 3, 30]; // two samples × two channels: channel 0 {1, 3}, channel 1 {10, 30}
    const g = [1, 2];
    const b = [0, 1];
    const dys = [1, 0, 0, 1];
    const x = tensor(xs, [2, 1, 1, 2]);
    const empty = tensor([], [0]);
    const fwd = k.executeMultipleOutputs('FusedBatchNormV3',
      [...batchNormAttrs(k, eps), {name: 'exponential_avg_factor', type: k.binding.TF_ATTR_FLOAT, value: 1}],
      [x, tensor(g), tensor(b), empty, empty], 6);
    if (fwd.length !== 6) return `FusedBatchNormV3 returned ${fwd.length} outputs, not 6`;
    const mean = [0, 1].map((c) => (xs[c]! + xs[c + 2]!) / 2);
    const variance = [0, 1].map((c) => ((xs[c]! - mean[c]!) ** 2 + (xs[c + 2]! - mean[c]!) ** 2) / 2);
    const xhat = xs.map((v, i) => (v - mean[i % 2]!) / Math.sqrt(variance[i % 2]! + eps));
    const y = xhat.map((v, i) => g[i % 2]! * v + b[i % 2]!);
    if (!close(fwd[0]!.dataSync(), y)) return 'FusedBatchNormV3 gave wrong normalized values';
    if (!close(fwd[1]!.dataSync(), mean)) return 'FusedBatchNormV3 gave a wrong batch mean';
    if (!close(fwd[4]!.dataSync(), variance)) return 'FusedBatchNormV3 gave a wrong biased variance (reserve_space_2)';
    // With an exponential average factor f and moving statistics in: (1 − f)·old + f·batch, the variance unbiased (n = 2).
    const ema = k.executeMultipleOutputs('FusedBatchNormV3',
      [...batchNormAttrs(k, eps), {name: 'exponential_avg_factor', type: k.binding.TF_ATTR_FLOAT, value: 0.25}],
      [x, tensor(g), tensor(b), tensor([1, 2]), tensor([3, 4])], 6);
    if (!close(ema[1]!.dataSync(), [0, 1].map((c) => 0.75 * [1, 2][c]! + 0.25 * mean[c]!)) ||
        !close(ema[2]!.dataSync(), [0, 1].map((c) => 0.75 * [3, 4][c]! + 0.25 * 2 * variance[c]!))) {
      return 'FusedBatchNormV3 gave a wrong exponential average of the moving statistics';
    }
    const grads = k.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(k, eps),
      [tensor(dys, [2, 1, 1, 2]), x, tensor(g), fwd[3]!, fwd[4]!, fwd[5]!], 5);
    if (grads.length !== 5) return `FusedBatchNormGradV3 returned ${grads.length} outputs, not 5`;
    const dbeta = [0, 1].map((c) => dys[c]! + dys[c + 2]!);
    const dgamma = [0, 1].map((c) => dys[c]! * xhat[c]! + dys[c + 2]! * xhat[c + 2]!);
    const dx = xs.map((_, i) => {
      const c = i % 2;
      return g[c]! / Math.sqrt(variance[c]! + eps) * (dys[i]! - dbeta[c]! / 2 - xhat[i]! * dgamma[c]! / 2);
    });
    if (!close(grads[0]!.dataSync(), dx)) return 'FusedBatchNormGradV3 gave a wrong input gradient';
    if (!close(grads[1]!.dataSync(), dgamma) || !close(grads[2]!.dataSync(), dbeta)) {
      return 'FusedBatchNormGradV3 gave wrong gamma or beta gradients';
    }
    return null;
  }),
  // Layer normalization as a batch norm in NCHW over [1, rows, features, 1]: each row is a "channel".
  layerNorm: (k) => inScope(() => {
    const eps = 1e-3;
    const xs = [1, 3, 10, 30]; // two rows of two features
    const dys = [1, 0, 0, 1];
    const x = tensor(xs, [1, 2, 2, 1]);
    const empty = tensor([], [0]);
    const ones = tensor([1, 1]);
    const fwd = k.executeMultipleOutputs('FusedBatchNormV3',
      [...batchNormAttrs(k, eps, 'NCHW'), {name: 'exponential_avg_factor', type: k.binding.TF_ATTR_FLOAT, value: 1}],
      [x, ones, tensor([0, 0]), empty, empty], 6);
    if (fwd.length !== 6) return `FusedBatchNormV3 (NCHW) returned ${fwd.length} outputs, not 6`;
    const row = (i: number) => Math.floor(i / 2);
    const mean = [0, 1].map((r) => (xs[2 * r]! + xs[2 * r + 1]!) / 2);
    const variance = [0, 1].map((r) => ((xs[2 * r]! - mean[r]!) ** 2 + (xs[2 * r + 1]! - mean[r]!) ** 2) / 2);
    const xhat = xs.map((v, i) => (v - mean[row(i)]!) / Math.sqrt(variance[row(i)]! + eps));
    if (!close(fwd[0]!.dataSync(), xhat)) return 'FusedBatchNormV3 (NCHW) gave wrong normalized rows';
    const grads = k.executeMultipleOutputs('FusedBatchNormGradV3', batchNormAttrs(k, eps, 'NCHW'),
      [tensor(dys, [1, 2, 2, 1]), x, ones, fwd[3]!, fwd[4]!, fwd[5]!], 5);
    if (grads.length !== 5) return `FusedBatchNormGradV3 (NCHW) returned ${grads.length} outputs, not 5`;
    const sdy = [0, 1].map((r) => dys[2 * r]! + dys[2 * r + 1]!);
    const sdyx = [0, 1].map((r) => dys[2 * r]! * xhat[2 * r]! + dys[2 * r + 1]! * xhat[2 * r + 1]!);
    const dx = xs.map((_, i) => (dys[i]! - sdy[row(i)]! / 2 - xhat[i]! * sdyx[row(i)]! / 2) / Math.sqrt(variance[row(i)]! + eps));
    return close(grads[0]!.dataSync(), dx) ? null : 'FusedBatchNormGradV3 (NCHW) gave a wrong input gradient';
  }),
  activationGrad: (k) => inScope(() => {
    const dy = tensor([1, 2, 3, 4]);
    const relu = k.executeSingleOutput('ReluGrad', [floatAttr(k)], [dy, tensor([-1, 0, 2, 7])]);
    if (!close(relu.dataSync(), [0, 0, 3, 4])) return 'ReluGrad gave wrong values';
    return null;
  }),
  scatterAdd: (k) => inScope(() => {
    const out = k.executeSingleOutput('TensorScatterAdd', [floatAttr(k), {name: 'Tindices', type: k.binding.TF_ATTR_TYPE, value: k.binding.TF_INT32}],
      [tensor([1, 2, 3, 4, 5, 6], [3, 2]), tensor([[2], [0]], [2, 1], 'int32'), tensor([10, 20, 30, 40], [2, 2])]);
    return out.shape.join() === '3,2' && close(out.dataSync(), [31, 42, 3, 4, 15, 26]) ? null : 'TensorScatterAdd gave wrong values';
  }),
  mulNoNan: (k) => inScope(() => {
    const out = k.executeSingleOutput('MulNoNan', [floatAttr(k)], [tensor([NaN, 2, Infinity]), tensor([0, 3, 0])]);
    return close(out.dataSync(), [0, 6, 0]) ? null : 'MulNoNan gave wrong values';
  }),
};

/**
 * The tensorflow backend's kernels for `family`, or null when they are not
 * there or failed their probe (see {@link kernelStatus}).
 */
export function tensorflowKernels(family: KernelFamily): TensorflowKernels | null {
  if (disabled !== null) return null;
  const be = backend() as object;
  let byFamily = probes.get(be);
  if (!byFamily) probes.set(be, byFamily = new Map());
  let probe = byFamily.get(family);
  if (!probe) {
    const k = entryPoints(be);
    if (!k) {
      probe = {kernels: null, reason: `backend '${getBackend()}' does not run TensorFlow ops by name`};
    } else {
      let failure: string | null;
      try {
        failure = PROBES[family](k);
      } catch (e) {
        failure = `probe threw: ${(e as Error).message}`;
      }
      probe = failure === null ? {kernels: k, reason: 'probed: equal to the reference'} : {kernels: null, reason: failure};
    }
    byFamily.set(family, probe);
  }
  return probe.kernels;
}

/** Whether `family` runs fused on the current backend, and why (probing it if not yet done). */
export function kernelStatus(family: KernelFamily): {fused: boolean; reason: string} {
  if (disabled !== null) return {fused: false, reason: disabled};
  tensorflowKernels(family);
  const probe = probes.get(backend() as object)?.get(family) as Probe;
  return {fused: probe.kernels !== null, reason: probe.reason};
}

/**
 * Testing and diagnosis: `disableFusedKernels('why')` makes every family
 * report unavailable (the portable path everywhere); `disableFusedKernels(null)`
 * lifts that and forgets earlier probes, so the next use probes again.
 */
export function disableFusedKernels(reason: string | null): void {
  disabled = reason;
  if (reason === null) probes = new WeakMap();
}
