import {polyfillNodeUtil} from '../../src/internal/node_compat';

// The real module object, which tfjs-node's compiled code reads at call time.
const util = process.getBuiltinModule('util');

test('restores util.isNullOrUndefined where Node removed it (tfjs-node 4.22 calls it)', () => {
  const u = util as unknown as Record<string, unknown>;
  const original = u.isNullOrUndefined;
  delete u.isNullOrUndefined;
  try {
    polyfillNodeUtil();
    const f = u.isNullOrUndefined as (v: unknown) => boolean;
    expect([f(null), f(undefined), f(0), f('')]).toEqual([true, true, false, false]);
  } finally {
    if (original === undefined) delete u.isNullOrUndefined; else u.isNullOrUndefined = original;
  }
});

test('leaves an existing util.isNullOrUndefined alone', () => {
  const u = util as unknown as Record<string, unknown>;
  const before = u.isNullOrUndefined;
  polyfillNodeUtil();
  expect(u.isNullOrUndefined).toBe(before);
});
