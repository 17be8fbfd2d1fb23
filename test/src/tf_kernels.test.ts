/**
 * The probe that guards every fused kernel: available on tfjs-node, absent on
 * the pure-JS backend, and a backend whose kernels are missing, throw or
 * answer wrongly (as another tfjs version might; as TensorFlow's
 * `_FusedBatchNormEx` does on CPU, returning empty outputs) is caught and
 * sends the callers down the portable path, with the reason.
 */
import {batchNormTrain} from '../../src/ops/fused_batch_norm';
import {activationTrain} from '../../src/ops/fused_activation';
import {disableFusedKernels, kernelStatus, tensorflowKernels} from '../../src/internal/tf_kernels';
import {onBackend, tf} from '../utils/tf';

type Backend = Record<string, unknown>;

/**
 * Runs `fn` with one method of the tensorflow backend answering `impl` for
 * the TensorFlow ops named in `ops` (every other op, tfjs' own kernels
 * included, runs as before); probes forgotten before and after.
 */
async function withBrokenBackend(method: string, ops: string[], impl: ((...args: unknown[]) => unknown) | undefined,
    fn: () => void) {
  await onBackend('tensorflow', () => {
    const be = tf.backend() as unknown as Backend;
    const original = be[method] as (...args: unknown[]) => unknown;
    const own = Object.prototype.hasOwnProperty.call(be, method);
    disableFusedKernels(null);
    be[method] = impl === undefined ? undefined : function broken(this: unknown, ...args: unknown[]) {
      return ops.includes(args[0] as string) ? impl(...args) : original.apply(this, args);
    };
    try {
      fn();
    } finally {
      if (own) be[method] = original;
      else delete be[method];
      disableFusedKernels(null);
    }
  });
}

afterAll(() => disableFusedKernels(null));

test('on tfjs-node every family passes its probe; on the cpu backend none is there', async () => {
  await onBackend('tensorflow', () => {
    for (const f of ['batchNorm', 'activationGrad', 'mulNoNan'] as const) {
      expect(tensorflowKernels(f)).not.toBeNull();
      expect(kernelStatus(f)).toEqual({fused: true, reason: 'probed: equal to the reference'});
    }
  });
  await onBackend('cpu', () => {
    expect(tensorflowKernels('batchNorm')).toBeNull();
    expect(kernelStatus('batchNorm')).toEqual({fused: false, reason: "backend 'cpu' does not run TensorFlow ops by name"});
  });
});

test('kernels that return empty outputs (as _FusedBatchNormEx does on CPU) fail the probe: portable path, same numbers', async () => {
  const x = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 1);
  const g = tf.ones([2]) as tf.Tensor1D;
  const b = tf.zeros([2]) as tf.Tensor1D;
  const want = batchNormTrain(x, g, b, 1e-3);
  expect(want.path).toBe('fused');
  await withBrokenBackend('executeMultipleOutputs', ['FusedBatchNormV3'], () => [], () => {
    const r = batchNormTrain(x, g, b, 1e-3);
    expect(r.path).toBe('reference');
    expect(kernelStatus('batchNorm')).toEqual({fused: false, reason: 'FusedBatchNormV3 returned 0 outputs, not 6'});
    expect(tf.max(tf.abs(tf.sub(r.y, want.y))).dataSync()[0]).toBeLessThan(1e-5);
    expect(kernelStatus('activationGrad').fused).toBe(true); // single-output kernels untouched
  });
});

test('a kernel that throws, or answers wrongly, fails the probe', async () => {
  await withBrokenBackend('executeSingleOutput', ['ReluGrad'], () => {
    throw new Error('no such op');
  }, () => {
    expect(activationTrain(tf.ones([2]), 'relu').path).toBe('reference');
    expect(kernelStatus('activationGrad')).toEqual({fused: false, reason: 'probe threw: no such op'});
  });
  await withBrokenBackend('executeSingleOutput', ['ReluGrad', 'MulNoNan'], () => tf.zeros([4]), () => {
    expect(kernelStatus('activationGrad')).toEqual({fused: false, reason: 'ReluGrad gave wrong values'});
    expect(kernelStatus('mulNoNan')).toEqual({fused: false, reason: 'MulNoNan gave wrong values'});
  });
  await withBrokenBackend('binding', [], undefined, () => {
    expect(kernelStatus('batchNorm')).toEqual({fused: false, reason: "backend 'tensorflow' does not run TensorFlow ops by name"});
  });
  // Probes forgotten: the real kernels pass again.
  await onBackend('tensorflow', () => expect(kernelStatus('batchNorm').fused).toBe(true));
});

test('disableFusedKernels forces the portable path everywhere, with the reason given', async () => {
  await onBackend('tensorflow', () => {
    disableFusedKernels('forced by a test');
    try {
      expect(kernelStatus('batchNorm')).toEqual({fused: false, reason: 'forced by a test'});
      expect(activationTrain(tf.ones([2]), 'relu').path).toBe('reference');
    } finally {
      disableFusedKernels(null);
    }
    expect(kernelStatus('batchNorm').fused).toBe(true);
  });
});
