/**
 * One source of drop decisions: with the same seed and rate, DropPath,
 * StochasticResidual 'mask' and 'skip' drop exactly the same samples, call
 * after call; the host's decisions equal the device mask exactly.
 */
import {DropPath, StochasticResidual} from '../../index';
import {DropDecision, keepFromSeed} from '../../src/internal/drop_decision';
import {BACKENDS, onBackend, tf} from '../utils/tf';

describe.each(BACKENDS)('host decisions equal floor(keep + tf.randomUniform) on backend %s', (backend) => {
  test.each([0.1, 0.3, 0.5, 0.7, 0.9, 0.999])('rate %f, 200 seeds × 64 draws', (rate) => onBackend(backend, () => {
    let differences = 0;
    for (let seed = 0; seed < 200; seed++) {
      const seedValue = seed * 7919 + 13;
      const device = tf.tidy(() => tf.floor(tf.add(tf.randomUniform([64], 0, 1, 'float32', seedValue), 1 - rate)).dataSync());
      const host = keepFromSeed(seedValue, 64, rate);
      host.forEach((k, i) => { if ((k ? 1 : 0) !== device[i]) differences++; });
    }
    expect(differences).toBe(0);
  }));
});

describe('same seed, same decisions in every form', () => {
  /** Which rows of a call were dropped: the output rows equal to the shortcut (the input) for blocks, zero rows for DropPath. */
  const x = tf.add(tf.randomUniform([24, 4], 1, 2, 'float32', 3), 0);
  const xs = x.arraySync() as number[][];
  const identityish = () => tf.layers.dense({units: 4, kernelInitializer: 'identity', biasInitializer: 'ones'});

  test.each([['row', 0.3], ['row', 0.5], ['batch', 0.5], ['row', 0.85]] as const)(
    "mode '%s', rate %f: DropPath, 'mask' and 'skip' drop the same samples on each of 8 calls", (mode, rate) => {
      const seed = 1234;
      const dropPath = new DropPath({rate, mode, seed});
      const mask = new StochasticResidual({branch: identityish(), rate, mode, seed, strategy: 'mask'});
      const skip = new StochasticResidual({branch: identityish(), rate, mode, seed, strategy: 'skip'});
      let droppedAny = false;
      let keptAny = false;
      for (let call = 0; call < 8; call++) {
        const a = (dropPath.apply(x, {training: true}) as tf.Tensor).arraySync() as number[][];
        const b = (mask.apply(x, {training: true}) as tf.Tensor).arraySync() as number[][];
        const c = (skip.apply(x, {training: true}) as tf.Tensor).arraySync() as number[][];
        const droppedA = a.map((r) => r.every((v) => v === 0));
        const droppedB = b.map((r, i) => r.every((v, j) => v === (xs[i] as number[])[j]));
        const droppedC = c.map((r, i) => r.every((v, j) => v === (xs[i] as number[])[j]));
        expect(droppedB).toEqual(droppedA);
        expect(droppedC).toEqual(droppedA);
        droppedAny ||= droppedA.some((d) => d);
        keptAny ||= droppedA.some((d) => !d);
      }
      expect(droppedAny && keptAny).toBe(true);
    });

  test("a layer's stream depends on its seed alone: two layers with one seed drop in lockstep, other seeds differ", () => {
    const a = new DropDecision({rate: 0.5, seed: 9}, () => 'a');
    const b = new DropDecision({rate: 0.5, seed: 9}, () => 'b');
    const c = new DropDecision({rate: 0.5, seed: 10}, () => 'c');
    const seq = (d: DropDecision) => Array.from({length: 5}, () => d.next(32, 0.5).keep.map(Number).join(''));
    const sa = seq(a);
    expect(seq(b)).toEqual(sa);
    expect(seq(c)).not.toEqual(sa);
  });
});
