import {dropPath} from '../../index';
import {BACKENDS, onBackend, tf, tensorCounts, zeroRows} from '../utils/tf';

describe.each(BACKENDS)('dropPath op on backend %s', (backend) => {
  const run = <T>(fn: () => T | Promise<T>) => onBackend(backend, fn);

  test.each([2, 3, 4, 5])('rank %i: shape and dtype kept, mask is per sample', (rank) => run(() => {
    const shape = [16, 3, 2, 2, 2].slice(0, rank);
    const x = tf.add(tf.randomUniform(shape, 1, 2, 'float32', 3), 0);
    const y = dropPath(x, 0.5, {seed: 11});
    expect(y.shape).toEqual(shape);
    expect(y.dtype).toBe('float32');
    const xs = x.arraySync() as unknown;
    const ys = y.arraySync() as unknown;
    const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);
    const keepScale = Math.fround(1 / 0.5);
    for (let r = 0; r < 16; r++) {
      const xr = flat((xs as unknown[])[r]);
      const yr = flat((ys as unknown[])[r]);
      const dropped = yr.every((v) => v === 0);
      if (!dropped) yr.forEach((v, i) => expect(v).toBe(Math.fround((xr[i] as number) * keepScale)));
    }
    const rows = zeroRows(y);
    expect(rows.some((d) => d)).toBe(true); // seed 11 drops some and keeps some
    expect(rows.some((d) => !d)).toBe(true);
  }));

  test('rank 1: each element is its own sample', () => run(() => {
    const y = dropPath(tf.ones([64]), 0.5, {seed: 5});
    const v = Array.from(y.dataSync());
    expect(v.every((e) => e === 0 || e === 2)).toBe(true);
    expect(new Set(v).size).toBe(2);
  }));

  test.each([0.1, 0.25, 0.5, 0.9])('kept values equal x / (1 - rate) at rate %f', (rate) => run(() => {
    const x = tf.randomNormal([32, 5], 0, 1, 'float32', 7);
    const y = dropPath(x, rate, {seed: 1});
    const xv = x.dataSync();
    const yv = y.dataSync();
    const scale = Math.fround(1 / (1 - rate));
    for (let i = 0; i < xv.length; i++) {
      const row = Math.floor(i / 5);
      const rowDropped = Array.from(yv.slice(row * 5, row * 5 + 5)).every((v) => v === 0);
      if (!rowDropped) expect(yv[i]).toBe(Math.fround((xv[i] as number) * scale));
      expect(Math.abs((yv[i] as number) - (xv[i] as number) / (1 - rate)) <=
        1e-6 * Math.abs((xv[i] as number) / (1 - rate)) || yv[i] === 0).toBe(true);
    }
  }));

  test('scaleByKeep: false keeps values unscaled', () => run(() => {
    const v = Array.from(dropPath(tf.ones([64, 2]), 0.5, {seed: 2, scaleByKeep: false}).dataSync());
    expect(new Set(v)).toEqual(new Set([0, 1]));
  }));

  test('rate 0 and training false are the identity, with no random op', () => run(() => {
    const x = tf.randomNormal([8, 4], 0, 1, 'float32', 1);
    const spy = jest.spyOn(tf.engine(), 'runKernel');
    const a = dropPath(x, 0);
    const b = dropPath(x, 0.7, {training: false});
    const kernels = spy.mock.calls.map((c) => c[0]);
    dropPath(x, 0.7); // positive control: a real drop is seen by the spy
    const controlKernels = spy.mock.calls.slice(kernels.length).map((c) => c[0]);
    spy.mockRestore();
    expect(kernels.filter((k) => /Random|Floor|Multinomial/.test(k))).toEqual([]);
    expect(controlKernels).toContain('Floor');
    expect(a.dataSync()).toEqual(x.dataSync());
    expect(b.dataSync()).toEqual(x.dataSync());
    expect(a).not.toBe(x); // a new tensor: disposing it leaves x alive
    a.dispose();
    expect(x.isDisposed).toBe(false);
  }));

  test('rate 1 gives exact zeros, never NaN (blog bug 3: keep_prob 0 divides by zero)', () => run(() => {
    for (const mode of ['row', 'batch'] as const) {
      const y = dropPath(tf.randomNormal([6, 3, 3], 0, 1, 'float32', 2), 1, {mode});
      const v = Array.from(y.dataSync());
      expect(v.every((e) => e === 0 && !Number.isNaN(e))).toBe(true);
    }
  }));

  test("the caller's tensor is not mutated (blog bug 4: in-place variant)", () => run(() => {
    const x = tf.ones([16, 4]);
    const before = Array.from(x.dataSync());
    const y = dropPath(x, 0.5, {seed: 9});
    expect(y).not.toBe(x);
    expect(Array.from(x.dataSync())).toEqual(before);
    expect(zeroRows(y).some((d) => d)).toBe(true);
  }));

  test("mode 'batch' draws one value for the whole batch", () => run(() => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const rows = zeroRows(dropPath(tf.ones([8, 2]), 0.5, {seed, mode: 'batch'}));
      expect(new Set(rows).size).toBe(1); // all dropped or all kept
      outcomes.add(String(rows[0]));
    }
    expect(outcomes).toEqual(new Set(['true', 'false']));
  }));

  test('the same seed gives the same mask; a different seed a different one', () => run(() => {
    const x = tf.ones([64, 1]);
    const a = zeroRows(dropPath(x, 0.5, {seed: 42}));
    const b = zeroRows(dropPath(x, 0.5, {seed: 42}));
    const c = zeroRows(dropPath(x, 0.5, {seed: 43}));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  }));

  test('no tensor leaks across repeated eager calls', async () => run(async () => {
    const x = tf.ones([8, 3, 3, 2]);
    const counts = await tensorCounts(() => {
      for (const rate of [0, 0.3, 1]) {
        for (const mode of ['row', 'batch'] as const) dropPath(x, rate, {mode, seed: 1}).dispose();
      }
    });
    expect(new Set(counts).size).toBe(1);
  }));
});

test('tensorflow and cpu backends draw the same seeded mask', async () => {
  const mask = async (b: 'tensorflow' | 'cpu') =>
    onBackend(b, () => Array.from(dropPath(tf.ones([64, 2]), 0.3, {seed: 77}).dataSync()));
  expect(await mask('tensorflow')).toEqual(await mask('cpu'));
});
