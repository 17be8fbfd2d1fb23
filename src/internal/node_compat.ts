/**
 * @tensorflow/tfjs-node 4.22 calls `util.isNullOrUndefined`, which Node 23
 * removed. tfjs-node looks the function up on the `util` module object at call
 * time, so defining it here (before the first op runs) is enough. A no-op in
 * browsers and on Node versions that still have it.
 */
export function polyfillNodeUtil(): void {
  const proc = (globalThis as {process?: {getBuiltinModule?: (id: string) => unknown}}).process;
  const util = proc?.getBuiltinModule?.('util') as Record<string, unknown> | undefined;
  if (util && typeof util.isNullOrUndefined !== 'function') {
    util.isNullOrUndefined = (v: unknown) => v === null || v === undefined;
  }
}
