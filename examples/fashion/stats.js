'use strict';
/**
 * The evidence tables' statistics: mean, sample standard deviation, and the paired difference of two
 * configurations over the same seeds with its Student-t 95% confidence interval (n − 1 degrees of freedom).
 * The t quantile is computed (bisection on the regularized incomplete beta function), not tabulated.
 */

const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
const sd = (v) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((s, x) => s + (x - mean(v)) ** 2, 0) / (v.length - 1)));

/** ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; about 15 digits). */
function lnGamma(x) {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a, b, x) {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
function betaInc(x, a, b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** Two-sided tail probability of Student's t with `df` degrees of freedom: P(|T| ≥ t). */
const tTwoSided = (t, df) => betaInc(df / (df + t * t), df / 2, 0.5);

/** The t with P(|T| ≥ t) = 1 − level (level 0.95: 12.706 at 1 df, 4.303 at 2, 2.228 at 10). */
function tCritical(df, level = 0.95) {
  if (!(df >= 1) || !(level > 0 && level < 1)) throw new Error(`tCritical: expected df ≥ 1 and 0 < level < 1, but received ${df}, ${level}.`);
  let lo = 0;
  let hi = 1e4;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSided(mid, df) > 1 - level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The paired difference `a[i] − b[i]` (the same seed in both): its mean and the 95% t interval around it
 * (`lo`, `hi`; null with fewer than two pairs).
 */
function paired(a, b) {
  if (a.length !== b.length || a.length === 0) throw new Error(`paired: expected two equal, non-empty lists, but received ${a.length} and ${b.length} values.`);
  const d = a.map((x, i) => x - b[i]);
  const m = mean(d);
  if (d.length < 2) return {n: 1, mean: m, lo: null, hi: null};
  const half = (tCritical(d.length - 1) * sd(d)) / Math.sqrt(d.length);
  return {n: d.length, mean: m, lo: m - half, hi: m + half};
}

module.exports = {mean, sd, tTwoSided, tCritical, paired};
