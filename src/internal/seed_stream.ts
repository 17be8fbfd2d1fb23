/**
 * A per-layer stream of seeds. `tf.randomUniform(shape, 0, 1, dtype, seed)`
 * returns the same numbers on every call with the same seed, so a seeded layer
 * that passed its seed straight through would repeat one mask forever. The
 * stream turns one user seed into a sequence: reproducible run to run,
 * different call to call.
 */
export class SeedStream {
  private state: number;

  constructor(readonly seed: number | undefined) {
    this.state = seed === undefined ? 0 : mix(seed);
  }

  /** The seed for the next random op, or undefined when unseeded. */
  next(): number | undefined {
    if (this.seed === undefined) return undefined;
    return this.nextUint32();
  }

  /** A uniform number in [0, 1) (Math.random when unseeded). */
  nextUniform(): number {
    if (this.seed === undefined) return Math.random();
    return this.nextUint32() / 4294967296;
  }

  // mulberry32: a small, well-mixed 32-bit generator.
  private nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/** Folds a safe integer (possibly negative or > 2^32) into 32 bits. */
function mix(seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return (Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35)) >>> 0;
}

/**
 * `count` keep decisions drawn on the host: each is true with probability
 * 1 − rate. StochasticResidual decides this way in both strategies, so 'skip'
 * (which must know the kept rows on the host) and 'mask' agree, and no tensor
 * has to be read back.
 */
export function keepDecisions(stream: SeedStream, count: number, rate: number): boolean[] {
  const out = new Array<boolean>(count);
  for (let i = 0; i < count; i++) out[i] = stream.nextUniform() >= rate;
  return out;
}
