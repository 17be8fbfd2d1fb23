/**
 * @tensorflow/tfjs-node 4.22 calls two `util` functions that newer Node
 * versions no longer serve quietly: `util.isNullOrUndefined` (nearly every
 * kernel; a DEP0051 warning on Node 22, removed in Node 23) and `util.isArray`
 * (file IO; a DEP0044 warning since Node 22). tfjs-node looks both up on the
 * `util` module object at call time, so defining them here, before the first
 * op runs, is enough: each as what it has always answered, without the
 * warning. A no-op in browsers.
 */
const isNullOrUndefined = (v: unknown) => v === null || v === undefined;

export function polyfillNodeUtil(): void {
  const proc = (globalThis as {process?: {getBuiltinModule?: (id: string) => unknown}}).process;
  const util = proc?.getBuiltinModule?.('util') as Record<string, unknown> | undefined;
  if (!util) return;
  if (util.isNullOrUndefined !== isNullOrUndefined) util.isNullOrUndefined = isNullOrUndefined;
  if (util.isArray !== Array.isArray) util.isArray = Array.isArray;
}

/** Whether this is Node.js (file paths, worker threads), not a browser. */
export function runningInNode(): boolean {
  return typeof process !== 'undefined' && Boolean(process.versions?.node);
}
