import {runNode} from '../utils/run_node';
import {unexpectedStderr} from '../utils/stderr';
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

describe('the explicit entry, as the README tells Node 22+ users to write it (this Node: process.version)', () => {
  const major = Number(process.versions.node.split('.')[0]);
  const run = (first: string) => runNode(['-e', `${first}
    const tf = require('@tensorflow/tfjs-node');
    const y = tf.add(tf.ones([2]), 1);
    console.log(Array.from(y.dataSync()).join(','));`]);

  test("with require('tfjs-drop-path/node-compat') first: tfjs-node runs, and nothing is printed on stderr", () => {
    const r = run("require('tfjs-drop-path/node-compat');");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('2,2');
    expect(unexpectedStderr(r.stderr)).toEqual([]);
  });

  test('without it: what the README says happens on this Node version', () => {
    const r = run('');
    if (major >= 23) {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/TypeError: \(0 , util_1\.isNullOrUndefined\) is not a function/);
    } else if (major === 22) {
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/DEP0051/);
    } else {
      expect(r.status).toBe(0);
      expect(unexpectedStderr(r.stderr)).toEqual([]);
    }
  });

  test('importing the main entry does not patch node:util', () => {
    const r = runNode(['-e', `
      const util = require('util');
      const before = [util.isNullOrUndefined, util.isArray];
      require('tfjs-drop-path');
      console.log(before[0] === util.isNullOrUndefined && before[1] === util.isArray);`]);
    expect(r.stdout.trim()).toBe('true');
  });
});
