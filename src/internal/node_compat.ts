/**
 * @tensorflow/tfjs-node 4.22 calls two `util` functions that newer Node
 * versions no longer serve quietly: `util.isNullOrUndefined` (removed in Node
 * 23) and `util.isArray` (prints DEP0044 since Node 22, on every model save to
 * `file://`). tfjs-node looks both up on the `util` module object at call
 * time, so defining them here, before the first op runs, is enough: the first
 * where it is missing, the second as `Array.isArray` (what `util.isArray` has
 * always been; only the warning goes). A no-op in browsers.
 */
export function polyfillNodeUtil(): void {
  const proc = (globalThis as {process?: {getBuiltinModule?: (id: string) => unknown}}).process;
  const util = proc?.getBuiltinModule?.('util') as Record<string, unknown> | undefined;
  if (!util) return;
  if (typeof util.isNullOrUndefined !== 'function') {
    util.isNullOrUndefined = (v: unknown) => v === null || v === undefined;
  }
  if (util.isArray !== Array.isArray) util.isArray = Array.isArray;
}
