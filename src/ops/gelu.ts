/**
 * GELU, `x · Φ(x)` with Φ the standard normal CDF `½·(1 + erf(x/√2))`, as
 * tfjs-layers' 'gelu' activation computes it, with a hand-written gradient
 * `dy · (Φ(x) + x·φ(x))`, φ(x) = exp(−x²/2)/√(2π): seven element-wise kernels
 * going back, where tfjs differentiates the written-out form through erf,
 * the division and both products (about ten, and an addition of the two
 * paths to x). The forward pass is tfjs-layers' own sequence of ops, so its
 * values are bit-identical (a model with the fast GELU predicts exactly as
 * the same model loaded without it).
 */
import {add, div, erf, exp, mul, square} from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {withGradient} from '../internal/tensors';

const SQRT2 = Math.sqrt(2);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x) as tfjs-layers' Gelu.apply computes it, op for op. */
const normalCdf = (x: Tensor) => mul(0.5, add(1, erf(div(x, SQRT2))));

const geluOp = withGradient<[Tensor]>((x, save) => {
  const cdf = normalCdf(x);
  save([x, cdf]);
  return {
    value: mul(x, cdf),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sx, scdf] = saved as [Tensor, Tensor];
      const xpdf = mul(mul(sx, exp(mul(square(sx), -0.5))), INV_SQRT_2PI);
      return mul(dy, add(scdf, xpdf));
    },
  };
});

/** GELU (exact, erf form) with a cheap gradient; float32 only (other dtypes: the written-out form). */
export function gelu(x: Tensor): Tensor {
  if (x.dtype !== 'float32') return mul(x, normalCdf(x));
  return geluOp(x);
}
