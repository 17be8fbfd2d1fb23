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

test('replaces a deprecated util.isNullOrUndefined (DEP0051 on Node 22) with a quiet one that answers the same', () => {
  const u = util as unknown as Record<string, unknown>;
  const original = u.isNullOrUndefined;
  const warned: string[] = [];
  const onWarning = (w: Error & {code?: string}) => warned.push(String(w.code));
  process.on('warning', onWarning);
  try {
    u.isNullOrUndefined = (v: unknown) => {
      process.emitWarning('deprecated', {type: 'DeprecationWarning', code: 'DEP0051'});
      return v === null || v === undefined;
    };
    polyfillNodeUtil();
    const f = u.isNullOrUndefined as (v: unknown) => boolean;
    expect([f(null), f(undefined), f(0), f(''), f(false)]).toEqual([true, true, false, false, false]);
  } finally {
    if (original === undefined) delete u.isNullOrUndefined; else u.isNullOrUndefined = original;
  }
  return new Promise<void>((resolve) => setImmediate(() => {
    process.off('warning', onWarning);
    expect(warned).toEqual([]);
    resolve();
  }));
});

test('util.isArray answers as before without the DEP0044 warning (tfjs-node calls it on every file save)', () => {
  const u = util as unknown as Record<string, unknown>;
  const original = u.isArray;
  const warned: string[] = [];
  const onWarning = (w: Error & {code?: string}) => warned.push(String(w.code));
  process.on('warning', onWarning);
  try {
    u.isArray = (v: unknown) => { process.emitWarning('deprecated', {type: 'DeprecationWarning', code: 'DEP0044'}); return Array.isArray(v); };
    polyfillNodeUtil();
    const f = u.isArray as (v: unknown) => boolean;
    expect([f([]), f([1]), f({length: 0}), f('ab')]).toEqual([true, true, false, false]);
  } finally {
    u.isArray = original;
  }
  return new Promise<void>((resolve) => setImmediate(() => {
    process.off('warning', onWarning);
    expect(warned).toEqual([]);
    resolve();
  }));
});
