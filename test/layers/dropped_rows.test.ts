/**
 * One rule for every strategy, mode and rate: a dropped branch contributes
 * exactly 0 to the output — also where it holds NaN or ±Inf — and the
 * gradient that flows back into a dropped row is exactly 0.
 */
import {DropPath, StochasticResidual, dropPath} from '../../index';
import {BACKENDS, onBackend, tf} from '../utils/tf';

/** Rows of 6 values: NaN, +Inf, -Inf, then NaN, +Inf, -Inf mixed with finite values. */
function poisoned(rows: number): tf.Tensor2D {
  const pattern = [[NaN, NaN, NaN], [Infinity, Infinity, Infinity], [-Infinity, -Infinity, -Infinity],
    [NaN, 1, 2], [3, Infinity, 4], [-Infinity, 5, 6]];
  return tf.tensor2d(Array.from({length: rows}, (_, r) => pattern[r % pattern.length] as number[]));
}

/** A branch that turns each input value v into a NaN (v ≥ 3000), +Inf (≥ 2000), -Inf (≥ 1000), else v. */
class Poison extends tf.layers.Layer {
  static className = 'TestPoison';
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
      const full = (v: number) => tf.fill(x.shape, v);
      return tf.where(tf.greaterEqual(x, 3000), full(NaN),
        tf.where(tf.greaterEqual(x, 2000), full(Infinity), tf.where(tf.greaterEqual(x, 1000), full(-Infinity), x)));
    });
  }
}

/** Marker inputs for Poison: finite values that its output turns into NaN / ±Inf. */
const markers = (rows: number) => tf.tensor2d(Array.from({length: rows}, (_, r) => [3000, 2000, 1000].map((v) => v + r)));

const rowsOf = (t: tf.Tensor) => t.arraySync() as number[][];
/** Which rows a drop zeroed, read from the same drop applied to ones. */
const droppedRows = (t: tf.Tensor) => rowsOf(t).map((r) => r.every((v) => v === 0));

/** out and d(sum(out · w))/dx of fn at x. */
function withGrad(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor) {
  const w = tf.randomUniform(x.shape, 0.5, 1.5, 'float32', 4);
  let out: tf.Tensor | undefined;
  const g = tf.grad((t: tf.Tensor) => {
    const y = fn(t);
    out = tf.keep(y.clone());
    return tf.sum(tf.mul(y, w));
  })(x);
  return {out: rowsOf(out as tf.Tensor), grad: rowsOf(g), w: rowsOf(w)};
}

const RATES = [0.5, 0.999999];

describe('dropPath op and DropPath layer: a dropped row of NaN / ±Inf is exactly 0, its gradient exactly 0', () => {
  test.each(RATES.flatMap((rate) => (['row', 'batch'] as const).map((mode) => [rate, mode] as const)))(
    'op, rate %f, mode %s', (rate, mode) => {
      let droppedSeen = 0;
      for (let seed = 1; seed <= 6; seed++) {
        const dropped = droppedRows(dropPath(tf.ones([12, 3]), rate, {mode, seed}));
        const {out, grad} = withGrad((t) => dropPath(t, rate, {mode, seed}), poisoned(12));
        dropped.forEach((d, r) => {
          if (!d) return;
          droppedSeen++;
          expect(out[r]).toEqual([0, 0, 0]);
          expect(grad[r]).toEqual([0, 0, 0]);
        });
      }
      expect(droppedSeen).toBeGreaterThan(0);
    });

  test.each(RATES.flatMap((rate) => (['row', 'batch'] as const).map((mode) => [rate, mode] as const)))(
    'layer in training, rate %f, mode %s', (rate, mode) => {
      const layer = new DropPath({rate, mode, seed: 3});
      const twin = new DropPath({rate, mode, seed: 3}); // same seed: the same decisions, call after call
      let droppedSeen = 0;
      for (let call = 0; call < 6; call++) {
        const dropped = droppedRows(twin.apply(tf.ones([12, 3]), {training: true}) as tf.Tensor);
        const {out, grad} = withGrad((t) => layer.apply(t, {training: true}) as tf.Tensor, poisoned(12));
        dropped.forEach((d, r) => {
          if (!d) return;
          droppedSeen++;
          expect(out[r]).toEqual([0, 0, 0]);
          expect(grad[r]).toEqual([0, 0, 0]);
        });
      }
      expect(droppedSeen).toBeGreaterThan(0);
    });

  test('rate 1 and rate 0.999999 agree: zeros, never NaN', () => {
    const x = poisoned(6);
    expect(rowsOf(dropPath(x, 1))).toEqual(rowsOf(tf.zeros([6, 3])));
    // keep = 1e-6: seed 1 drops every row of this batch.
    expect(rowsOf(dropPath(x, 0.999999, {seed: 1}))).toEqual(rowsOf(tf.zeros([6, 3])));
  });
});

describe('StochasticResidual: a dropped branch of NaN / ±Inf adds exactly 0, its rows get exactly the shortcut gradient', () => {
  const cases = RATES.flatMap((rate) => (['skip', 'mask'] as const).flatMap((strategy) =>
    (['row', 'batch'] as const).map((mode) => [strategy, mode, rate] as const)));
  test.each(cases)("'%s' '%s', rate %f", (strategy, mode, rate) => {
    const block = new StochasticResidual({branch: new Poison({}), rate, mode, strategy, seed: 5});
    // The same seed makes the same decisions; its branch (the identity on small inputs) shows which rows it dropped.
    const twin = new StochasticResidual({branch: new Poison({}), rate, mode, strategy, seed: 5, scaleByKeep: false});
    let droppedSeen = 0;
    for (let call = 0; call < 6; call++) {
      const dropped = rowsOf(twin.apply(tf.ones([12, 3]), {training: true}) as tf.Tensor).map((r) => r.every((v) => v === 1));
      const x = markers(12);
      const xs = rowsOf(x);
      const {out, grad, w} = withGrad((t) => block.apply(t, {training: true}) as tf.Tensor, x);
      dropped.forEach((d, r) => {
        if (!d) return;
        droppedSeen++;
        expect(out[r]).toEqual(xs[r]); // shortcut + exactly 0
        expect(grad[r]).toEqual(w[r]); // the shortcut's gradient, plus exactly 0 from the branch
      });
    }
    expect(droppedSeen).toBeGreaterThan(0);
  });
});

describe.each(BACKENDS)('the one-kernel path (tfjs-node MulNoNan) and the where path agree exactly: backend %s', (backend) => {
  test('op outputs and gradients on NaN / ±Inf rows, against the plain product where the product is exact', () => onBackend(backend, () => {
    for (const rate of RATES) {
      for (const seed of [1, 2, 3]) {
        const x = poisoned(12);
        const {out, grad} = withGrad((t) => dropPath(t, rate, {seed}), x);
        const mask = dropPath(tf.ones([12, 3]), rate, {seed});
        const masks = rowsOf(mask);
        const xs = rowsOf(x);
        out.forEach((row, r) => row.forEach((v, c) => {
          const m = (masks[r] as number[])[c] as number;
          // Kept: exactly x · scale (NaN stays NaN); dropped: exactly 0, gradient exactly 0.
          if (m === 0) {
            expect(v).toBe(0);
            expect((grad[r] as number[])[c]).toBe(0);
          } else {
            expect(Object.is(v, Math.fround(((xs[r] as number[])[c] as number) * m)) || (Number.isNaN(v) && Number.isNaN(((xs[r] as number[])[c] as number)))).toBe(true);
          }
        }));
      }
    }
  }));
});
