/**
 * Sub-seeds for the parts of a model built from one user seed. Each (seed,
 * role, index) gets its own seed from a 53-bit hash, so models built with
 * seeds s and s + 1 share no initializer and no drop stream (offsets such as
 * `seed + 1 + i` make block i of seed s + 1 equal block i + 1 of seed s), and
 * every safe integer is a valid seed (nothing is multiplied out of range).
 */

/** A safe integer in [0, 2^53) for the `index`-th part of kind `role` of a model seeded with `seed`. */
export function deriveSeed(seed: number, role: string, index = 0): number {
  // Two 32-bit lanes over the seed's 64-bit form, the role's characters and the
  // index, each step mixed with multiply–xorshift rounds.
  let h1 = 0x9e3779b9 ^ role.length;
  let h2 = 0x85ebca6b ^ index;
  const feed = (word: number) => {
    h1 = Math.imul(h1 ^ word, 0x2c1b3c6d) >>> 0;
    h1 = (h1 ^ (h1 >>> 15)) >>> 0;
    h2 = Math.imul(h2 ^ word, 0x297a2d39) >>> 0;
    h2 = (h2 ^ (h2 >>> 13) ^ h1) >>> 0;
  };
  const neg = seed < 0 ? 1 : 0;
  const abs = Math.abs(seed);
  feed(abs >>> 0);
  feed(Math.floor(abs / 4294967296) >>> 0);
  feed(neg);
  for (let i = 0; i < role.length; i++) feed(role.charCodeAt(i));
  feed(index >>> 0);
  feed(Math.floor(index / 4294967296) >>> 0);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) >>> 0;
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35) >>> 0;
  h1 = (h1 ^ (h1 >>> 16)) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x7feb352d) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x846ca68b) >>> 0;
  h2 = (h2 ^ (h2 >>> 16) ^ h1) >>> 0;
  return (h2 & 0x1fffff) * 4294967296 + h1;
}

/** The seed of one part of a block or model (see deriveSeed); undefined stays undefined. */
export function subSeed(seed: number | undefined, role: string, index = 0): number | undefined {
  return seed === undefined ? undefined : deriveSeed(seed, role, index);
}
