/**
 * Reading `model.weights.h5` (HDF5) with h5wasm, the HDF5 C library compiled
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

/** The worker: imports h5wasm, reads every dataset, posts them back (buffers transferred). */
const WORKER = `
const {parentPort, workerData} = require('worker_threads');
(async () => {
  try {
    const h5wasm = await import(workerData.entry);
    await h5wasm.ready;
    // h5wasm's Node build opens real paths: the main thread wrote the bytes to a private temporary file.
    const file = new h5wasm.File(workerData.file, 'r');
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
    file.close();
    parentPort.postMessage({ok: true, datasets}, transfer);
  } catch (e) {
    parentPort.postMessage({ok: false, error: String(e && e.message || e)});
  }
})();
`;

/** Every dataset of an HDF5 file held in memory. `where` names the source in errors. */
export async function readH5(bytes: Uint8Array, where: string, opts: ReadH5Options = {}): Promise<H5Dataset[]> {
  if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x48 || bytes[2] !== 0x44 || bytes[3] !== 0x46) {
    throw new Error(`${where}: model.weights.h5 is not an HDF5 file (it does not start with the HDF5 signature).`);
  }
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new Error(`${where}: reading model.weights.h5 needs Node.js here; loading .keras files in the browser is not built yet.`);
  }
  const [{Worker}, fs, os, path] = await Promise.all([import('worker_threads'), import('fs'), import('os'), import('path')]);
  const entry = await h5wasmNodeEntry();
  const timeoutMs = opts.timeoutMs ?? 30_000 + (bytes.length / 1e8) * 10_000;
  // A private temporary file (h5wasm's Node build reads real paths), removed whatever happens.
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'tfjs-drop-path-h5-'));
  const file = path.join(dir, 'model.weights.h5');
  try {
    await fs.promises.writeFile(file, bytes);
    return await runWorker(Worker, entry, file, where, timeoutMs);
  } finally {
    await fs.promises.rm(dir, {recursive: true, force: true});
  }
}

function runWorker(Worker: typeof import('worker_threads').Worker, entry: string, file: string, where: string,
    timeoutMs: number): Promise<H5Dataset[]> {
  const worker = new Worker(WORKER, {eval: true, workerData: {entry, file}});
  return new Promise<H5Dataset[]>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(
      `${where}: reading model.weights.h5 took longer than ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was stopped ` +
      '(a damaged or hostile HDF5 file can make the HDF5 library loop).'))), timeoutMs);
    worker.on('message', (m: {ok: boolean; datasets?: H5Dataset[]; error?: string}) => finish(() => {
      if (m.ok) resolve(m.datasets as H5Dataset[]);
      else reject(new Error(`${where}: model.weights.h5 could not be read as HDF5 (${m.error}).`));
    }));
    worker.on('error', (e) => finish(() => reject(new Error(`${where}: the HDF5 reader failed on model.weights.h5 (${e.message}).`))));
    worker.on('exit', (code) => finish(() => reject(new Error(
      `${where}: the HDF5 reader stopped (exit code ${code}) before reading model.weights.h5.`))));
  });
}
