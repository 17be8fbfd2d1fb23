/**
 * Layer normalization's core, `(x − mean) / √(variance + ε)` over the last
 * axis, for LayerNormalization's fast training path (layers/training_paths.ts).
 *
 * On the `tensorflow` backend it is one TensorFlow `FusedBatchNormV3` in NCHW
 * form over x seen as `[1, rows, features, 1]` — each row a "channel", its
 * statistics over its features — and one `FusedBatchNormGradV3` backward, in
 * a custom gradient (the written-out form's gradient is a dozen full-size ops
 * and, since x feeds the moments and the difference, gradient additions).
 * Every other backend computes the same with tf.moments and broadcasting.
 */
import {add, backend, keep, moments, mul, ones, reshape, rsqrt, sub, tidy, zeros} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';
import {batchNormAttrs, emptyInput, tensorflowKernels} from '../internal/tf_kernels';

/** The kernel's scale (ones) and offset (zeros) of one size per row count, kept per backend; a few sizes at most. */
const constants = new WeakMap<object, Map<number, [Tensor, Tensor]>>();
const KEPT_SIZES = 8;

function rowConstants(rows: number): [Tensor, Tensor] {
  const be = backend();
  let bySize = constants.get(be);
  if (!bySize) constants.set(be, bySize = new Map());
  let c = bySize.get(rows);
  if (!c || c[0].isDisposed) {
    if (bySize.size >= KEPT_SIZES) {
      const [oldest, value] = bySize.entries().next().value as [number, Tensor[]];
      value.forEach((t) => t.dispose());
      bySize.delete(oldest);
    }
    c = [keep(ones([rows])), keep(zeros([rows]))];
    bySize.set(rows, c);
  }
  return c;
}

/** x normalized over its last axis (no scale or shift); differentiable. */
export function layerNormalize(x: Tensor, epsilon: number): {y: Tensor; path: 'fused' | 'reference'} {
  const features = x.shape[x.rank - 1] as number;
  const rows = x.size / features;
  const k = x.dtype === 'float32' && x.rank >= 2 && rows > 0 ? tensorflowKernels('layerNorm') : null;
  if (!k) {
    return {y: tidy(() => {
      const {mean, variance} = moments(x, -1, true);
      return mul(sub(x, mean), rsqrt(add(variance, epsilon)));
    }), path: 'reference'};
  }
  const attrs = batchNormAttrs(k, epsilon, 'NCHW');
  const forwardAttrs = [...attrs, {name: 'exponential_avg_factor', type: k.binding.TF_ATTR_FLOAT, value: 1}];
  const [scale, offset] = rowConstants(rows);
  const empty = emptyInput();
  const f = withGradient<[Tensor]>((t, save) => {
    const x4 = reshape(t, [1, rows, features, 1]);
    const out = k.executeMultipleOutputs('FusedBatchNormV3', forwardAttrs, [x4, scale, offset, empty, empty], 6);
    const [y4, mean, variance, r1, r2, r3] = out as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    mean.dispose();
    variance.dispose();
    // The scale too: the cache may drop this size before the backward pass runs (the engine keeps what is saved).
    save([x4, r1, r2, r3, scale]);
    return {
      value: reshape(y4, t.shape),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, s1, s2, s3, sScale] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
        const grads = k.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [reshape(dy, [1, rows, features, 1]), sx, sScale, s1, s2, s3], 5);
        grads.slice(1).forEach((g) => g.dispose());
        return reshape(grads[0] as Tensor, t.shape);
      },
    };
  });
  return {y: f(x), path: 'fused'};
}
