/**
 * Reading and writing `model.weights.h5` (HDF5) with h5wasm, the HDF5 C library compiled
 * to WebAssembly — no HDF5 parser of our own. In Node the file is read in a
 * worker thread with a time limit: an HDF5 file is untrusted input, and a
 * library that hangs or aborts on a crafted file then costs a clear error,
 * not the process. (h5wasm is ESM-only; the worker imports it natively, which
 * works on every supported Node version and under Jest.)
 */

/** One dataset of the file: its path inside the file, shape and values. */
export interface H5Dataset {
  path: string;
  shape: number[];
  /** h5wasm's dtype string: '<f' float32, '<d' float64, '<e' float16, '<i' int32, … */
  dtype: string;
  data: ArrayLike<number>;
}

export interface ReadH5Options {
  /** Time limit of the read; default 30 s plus 10 s per 100 MB. */
  timeoutMs?: number;
  /**
   * In the browser: the URL of h5wasm's script build (`h5wasm/dist/iife/h5wasm.js`
   * of the npm package h5wasm 0.10), which a Web Worker loads to read the file.
   */
  h5wasmUrl?: string;
}

/** The file URL of h5wasm's Node entry, found the way Node finds packages from here. */
async function h5wasmNodeEntry(): Promise<string> {
  const [fs, path, {pathToFileURL}] = await Promise.all([import('fs'), import('path'), import('url')]);
  const candidates = require.resolve.paths('h5wasm') ?? [];
  for (const dir of candidates) {
    const entry = path.join(dir, 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (fs.existsSync(entry)) return pathToFileURL(entry).href;
  }
  throw new Error('loadKerasModel needs the npm package h5wasm (a dependency of tfjs-drop-path): it was not found ' +
    `in ${candidates.join(', ') || 'any node_modules folder'}.`);
}

/**
 * The walk both workers run (Node's and the browser's): every dataset of the
 * open file with its path, shape, dtype and values (buffers to transfer).
 */
const WALK = `
function readAll(h5wasm, file) {
  const datasets = [];
  const transfer = [];
  const walk = (group, prefix) => {
    for (const key of group.keys()) {
      const item = group.get(key);
      if (item instanceof h5wasm.Dataset) {
        let data = item.value;
        if (typeof data === 'number' || typeof data === 'bigint') data = new Float64Array([Number(data)]);
        if (!ArrayBuffer.isView(data)) {
          datasets.push({path: prefix + key, shape: item.shape, dtype: String(item.dtype), data: null});
          continue;
        }
        if (data instanceof BigInt64Array || data instanceof BigUint64Array) data = Float64Array.from(data, Number);
        datasets.push({path: prefix + key, shape: item.shape, dtype: String(item.dtype), data});
        transfer.push(data.buffer);
      } else if (item instanceof h5wasm.Group) {
        walk(item, prefix + key + '/');
      }
    }
  };
  walk(file, '');
  return {datasets, transfer};
}
`;

/**
 * Node workers: h5wasm's Node build writes the HDF5 library's error stack
 * straight to file descriptor 2 (fs.writeSync), past the worker's captured
 * stderr. In this worker thread only, writes to 1 and 2 are dropped: the error
 * the caller gets says what failed.
 */
const QUIET_FDS = `
{
  const fs = require('fs');
  const writeSync = fs.writeSync;
  fs.writeSync = function quiet(fd, data, ...rest) {
    if (fd !== 1 && fd !== 2) return writeSync.call(fs, fd, data, ...rest);
    if (typeof data === 'string') return Buffer.byteLength(data);
    return typeof rest[1] === 'number' ? rest[1] : data.byteLength - (typeof rest[0] === 'number' ? rest[0] : 0);
  };
}
`;

/** The Node worker: imports h5wasm's Node build, reads the file, posts every dataset back. */
const WORKER = `
const {parentPort, workerData} = require('worker_threads');
${QUIET_FDS}
${WALK}
(async () => {
  try {
    const h5wasm = await import(workerData.entry);
    await h5wasm.ready;
    // h5wasm's Node build opens real paths: the main thread wrote the bytes to a private temporary file.
    const file = new h5wasm.File(workerData.file, 'r');
    const {datasets, transfer} = readAll(h5wasm, file);
    file.close();
    parentPort.postMessage({ok: true, datasets}, transfer);
  } catch (e) {
    parentPort.postMessage({ok: false, error: String(e && e.message || e)});
  }
})();
`;

/**
 * The browser worker: loads h5wasm's script build (dist/iife/h5wasm.js) from
 * the page's URL for it, writes the bytes into h5wasm's in-memory file system
 * and reads them back.
 */
const BROWSER_WORKER = `
${WALK}
onmessage = async (event) => {
  try {
    importScripts(event.data.url);
    const Module = await h5wasm.ready;
    Module.FS.writeFile('/model.weights.h5', new Uint8Array(event.data.bytes));
    const file = new h5wasm.File('/model.weights.h5', 'r');
    const {datasets, transfer} = readAll(h5wasm, file);
    file.close();
    postMessage({ok: true, datasets}, transfer);
  } catch (e) {
    postMessage({ok: false, error: String(e && e.message || e)});
  }
};
`;

/** Every dataset of an HDF5 file held in memory. `where` names the source in errors. */
export async function readH5(bytes: Uint8Array, where: string, opts: ReadH5Options = {}): Promise<H5Dataset[]> {
  if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x48 || bytes[2] !== 0x44 || bytes[3] !== 0x46) {
    throw new Error(`${where}: model.weights.h5 is not an HDF5 file (it does not start with the HDF5 signature).`);
  }
  const timeoutMs = opts.timeoutMs ?? 30_000 + (bytes.length / 1e8) * 10_000;
  if (typeof process === 'undefined' || !process.versions?.node) return readH5InBrowser(bytes, where, timeoutMs, opts.h5wasmUrl);
  const [{Worker}, fs, os, path] = await Promise.all([import('worker_threads'), import('fs'), import('os'), import('path')]);
  const entry = await h5wasmNodeEntry();
  // A private temporary file (h5wasm's Node build reads real paths), removed whatever happens.
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `tfjs-drop-path-h5-${process.pid}-`));
  const file = path.join(dir, 'model.weights.h5');
  try {
    await fs.promises.writeFile(file, bytes);
    const result = await runWorker<{datasets: H5Dataset[]}>(Worker, WORKER, {entry, file}, timeoutMs,
      (ms) => `${where}: reading model.weights.h5 took longer than ${ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`} ` +
        'and was stopped (a damaged or hostile HDF5 file can make the HDF5 library loop).',
      (m) => `${where}: model.weights.h5 could not be read as HDF5 (${m}).`);
    return result.datasets;
  } finally {
    await fs.promises.rm(dir, {recursive: true, force: true});
  }
}

/** One dataset to write: float32 values, or int64 ones (Keras' Normalization count). */
export interface H5WriteDataset {
  path: string;
  shape: number[];
  dtype: '<f' | '<q';
  data: Float32Array | number[];
}

/** The writing both workers run: groups (parents first), the `name` attribute Keras puts on each `vars` group, datasets. */
const WRITE_ALL = `
function writeAll(file, groups, datasets) {
  const made = new Set(['']);
  const group = (path) => {
    if (made.has(path)) return;
    const cut = path.lastIndexOf('/');
    const parent = cut < 0 ? '' : path.slice(0, cut);
    group(parent);
    (parent ? file.get(parent) : file).create_group(path.slice(cut + 1));
    made.add(path);
  };
  for (const [path, name] of groups) {
    group(path);
    file.get(path).create_attribute('name', name);
  }
  for (const d of datasets) {
    const cut = d.path.lastIndexOf('/');
    group(d.path.slice(0, cut));
    const data = d.dtype === '<q' ? BigInt64Array.from(d.data, (v) => BigInt(Math.round(v))) : d.data;
    file.get(d.path.slice(0, cut)).create_dataset({name: d.path.slice(cut + 1), data, shape: d.shape, dtype: d.dtype});
  }
}
`;

/** The Node worker that writes the file at a real path. */
const WRITE_WORKER = `
const {parentPort, workerData} = require('worker_threads');
${QUIET_FDS}
${WRITE_ALL}
(async () => {
  try {
    const h5wasm = await import(workerData.entry);
    await h5wasm.ready;
    const file = new h5wasm.File(workerData.file, 'w');
    writeAll(file, workerData.groups, workerData.datasets);
    file.close();
    parentPort.postMessage({ok: true});
  } catch (e) {
    parentPort.postMessage({ok: false, error: String(e && e.message || e)});
  }
})();
`;

/** The browser worker that writes: into h5wasm's in-memory file system, then the bytes back. */
const BROWSER_WRITE_WORKER = `
${WRITE_ALL}
onmessage = async (event) => {
  try {
    importScripts(event.data.url);
    const Module = await h5wasm.ready;
    const file = new h5wasm.File('/model.weights.h5', 'w');
    writeAll(file, event.data.groups, event.data.datasets);
    file.close();
    const bytes = Module.FS.readFile('/model.weights.h5');
    postMessage({ok: true, bytes}, [bytes.buffer]);
  } catch (e) {
    postMessage({ok: false, error: String(e && e.message || e)});
  }
};
`;

/**
 * An HDF5 file (as bytes) holding `datasets`, with the attribute `name` on
 * each group of `groups` ([path, layer name] pairs). In the browser, h5wasm's
 * script build is loaded from `h5wasmUrl` by a Web Worker.
 */
export async function writeH5(datasets: H5WriteDataset[], groups: [string, string][], where: string,
    h5wasmUrl?: string): Promise<Uint8Array> {
  const bytes = datasets.reduce((n, d) => n + d.data.length * 4, 0);
  const timeoutMs = 60_000 + (bytes / 1e8) * 10_000;
  if (typeof process === 'undefined' || !process.versions?.node) {
    const result = await runBrowserWorker<{bytes: Uint8Array}>(BROWSER_WRITE_WORKER, h5wasmUrl, where, timeoutMs,
      (url) => ({message: {url, groups, datasets}, transfer: []}),
      (m) => `${where}: model.weights.h5 could not be written (${m}).`);
    return result.bytes;
  }
  const [{Worker}, fs, os, path] = await Promise.all([import('worker_threads'), import('fs'), import('os'), import('path')]);
  const entry = await h5wasmNodeEntry();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `tfjs-drop-path-h5-${process.pid}-`));
  const file = path.join(dir, 'model.weights.h5');
  try {
    await runWorker(Worker, WRITE_WORKER, {entry, file, datasets, groups}, timeoutMs,
      (ms) => `${where}: writing model.weights.h5 took longer than ${Math.round(ms / 1000)} s and was stopped.`,
      (m) => `${where}: model.weights.h5 could not be written (${m}).`);
    return new Uint8Array(await fs.promises.readFile(file));
  } finally {
    await fs.promises.rm(dir, {recursive: true, force: true});
  }
}

function runWorker<T>(Worker: typeof import('worker_threads').Worker, script: string, workerData: unknown, timeoutMs: number,
    timeoutMessage: (ms: number) => string, failMessage: (m: string) => string): Promise<T> {
  // The HDF5 library prints its C error stack for a damaged file: kept off the user's stderr (the error says what failed).
  const worker = new Worker(script, {eval: true, workerData, stderr: true, stdout: true});
  worker.stderr.resume();
  worker.stdout.resume();
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(timeoutMessage(timeoutMs)))), timeoutMs);
    worker.on('message', (m: {ok: boolean; error?: string} & T) => finish(() => {
      if (m.ok) resolve(m);
      else reject(new Error(failMessage(String(m.error))));
    }));
    worker.on('error', (e) => finish(() => reject(new Error(failMessage(`the HDF5 worker failed: ${e.message}`)))));
    worker.on('exit', (code) => finish(() => reject(new Error(failMessage(`the HDF5 worker stopped with exit code ${code}`)))));
  });
}

/** The browser's read: a Web Worker loads h5wasm from `url` and reads the bytes, stopped at the time limit. */
async function readH5InBrowser(bytes: Uint8Array, where: string, timeoutMs: number, url: string | undefined): Promise<H5Dataset[]> {
  const result = await runBrowserWorker<{datasets: H5Dataset[]}>(BROWSER_WORKER, url, where, timeoutMs, (absolute) => {
    const copy = bytes.slice().buffer;
    return {message: {url: absolute, bytes: copy}, transfer: [copy]};
  }, (m) => `${where}: model.weights.h5 could not be read as HDF5 (${m}).`, 'reading model.weights.h5 took longer than ' +
    `${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was stopped (a damaged or hostile HDF5 file ` +
    'can make the HDF5 library loop).');
  return result.datasets;
}

/** Runs `script` in a Web Worker made from a Blob, with h5wasm's script build at `url`; stopped at the time limit. */
function runBrowserWorker<T>(script: string, url: string | undefined, where: string, timeoutMs: number,
    message: (absoluteUrl: string) => {message: unknown; transfer: Transferable[]}, failMessage: (m: string) => string,
    timeoutText = `the HDF5 work took longer than ${Math.round(timeoutMs / 1000)} s and was stopped.`): Promise<T> {
  if (typeof url !== 'string' || url === '') {
    return Promise.reject(new Error(`${where}: in the browser, model.weights.h5 is handled by h5wasm in a Web Worker: pass ` +
      "{h5wasmUrl} — the URL of h5wasm's script build, dist/iife/h5wasm.js of the npm package h5wasm 0.10 — " +
      `but received ${url === undefined ? 'none' : JSON.stringify(url)}.`));
  }
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL === 'undefined') {
    return Promise.reject(new Error(`${where}: model.weights.h5 needs Web Workers, which this environment lacks.`));
  }
  const absolute = new URL(url, typeof location === 'undefined' ? undefined : location.href).href;
  const blob = URL.createObjectURL(new Blob([script], {type: 'text/javascript'}));
  const worker = new Worker(blob);
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.terminate();
      URL.revokeObjectURL(blob);
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`${where}: ${timeoutText}`))), timeoutMs);
    worker.onmessage = (event: MessageEvent<{ok: boolean; error?: string} & T>) => finish(() => {
      if (event.data.ok) resolve(event.data);
      else reject(new Error(failMessage(String(event.data.error))));
    });
    worker.onerror = (event: ErrorEvent) => finish(() => reject(new Error(failMessage(`the HDF5 worker failed: ` +
      `${event.message || 'no message'}; is h5wasm's script build at ${absolute}?`))));
    const {message: data, transfer} = message(absolute);
    worker.postMessage(data, transfer);
  });
}
