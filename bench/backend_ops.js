/**
 * Every TensorFlow op tfjs-node runs passes through two methods of its backend
 * (executeSingleOutput / executeMultipleOutputs): `watchOps(tf, onOp, fn)` runs
 * `fn` with each such call reported as `onOp(opName, ms)` (eager CPU ops run
 * synchronously there, so ms is the kernel's time), then restores the
 * backend. Returns fn's result, or null when the backend has no such methods.
 */
'use strict';

async function watchOps(tf, onOp, fn) {
  const be = tf.backend();
  const names = ['executeSingleOutput', 'executeMultipleOutputs'];
  if (!names.every((n) => typeof be[n] === 'function')) return null;
  for (const n of names) {
    const original = Object.getPrototypeOf(be)[n];
    be[n] = function watched(op, ...args) {
      const t0 = process.hrtime.bigint();
      try {
        return original.call(this, op, ...args);
      } finally {
        onOp(op, Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };
  }
  try {
    return await fn();
  } finally {
    for (const n of names) delete be[n]; // the prototype's methods again
  }
}

module.exports = {watchOps};
