/**
 * The tfjs instance the tests use: tfjs-node (backend 'tensorflow'), which
 * also registers the pure-JS 'cpu' backend. Imported once; never reset.
 */
// Node 22+: the explicit compatibility entry, before tfjs-node (as users write it).
import '../../src/node_compat';
import * as tf from '@tensorflow/tfjs-node';

export {tf};

export const BACKENDS = ['tensorflow', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Runs `fn` with `name` as the active backend, restoring the previous one. */
export async function onBackend<T>(name: BackendName, fn: () => T | Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(name);
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/** Rows (axis 0) of `t` whose every element is exactly zero. */
export function zeroRows(t: tf.Tensor): boolean[] {
  const rows = t.shape[0] ?? 0;
  const per = t.size / Math.max(rows, 1);
  const v = t.dataSync();
  const out: boolean[] = [];
  for (let r = 0; r < rows; r++) {
    let zero = true;
    for (let i = 0; i < per; i++) if (v[r * per + i] !== 0) { zero = false; break; }
    out.push(zero);
  }
  return out;
}

/** Tensor count after `fn` runs `times` times, once warm. */
export async function tensorCounts(fn: () => unknown, times = 3): Promise<number[]> {
  await fn();
  const counts: number[] = [];
  for (let i = 0; i < times; i++) {
    await fn();
    counts.push(tf.memory().numTensors);
  }
  return counts;
}

/**
 * Tensor counts after each of `times` rounds of fit (one epoch), predict and
 * evaluate on `model`, once warm: flat when nothing leaks.
 */
export function trainingTensorCounts(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, batchSize: number, times = 4) {
  return tensorCounts(async () => {
    await model.fit(x, y, {epochs: 1, batchSize, verbose: 0});
    tf.dispose(model.predict(x));
    tf.dispose(model.evaluate(x, y));
  }, times);
}
