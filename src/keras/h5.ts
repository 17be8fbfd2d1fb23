/**
 * Reading and writing `model.weights.h5` (HDF5) with h5wasm, the HDF5 C
 * library compiled to WebAssembly — no HDF5 parser of our own. The work runs
 * in a worker with a time limit (a worker thread in Node, a Web Worker in the
 * browser): an HDF5 file is untrusted input, and a library that hangs or
 * aborts on a crafted file then costs a clear error, not the process.
 * (h5wasm is ESM-only; the Node worker imports it natively, which works on
 * every supported Node version and under Jest.)
 */
import {runningInNode} from '../internal/node_compat';

/** One dataset of the file: its path inside the file, shape and values. */
export interface H5Dataset {
  path: string;
  shape: number[];
  /** h5wasm's dtype string: '<f' float32, '<d' float64, '<e' float16, '<i' int32, … */
  dtype: string;
  data: ArrayLike<number>;
}

/** One dataset to write: float32 values, or int64 ones (Keras' Normalization count). */
export interface H5WriteDataset {
  path: string;
  shape: number[];
  dtype: '<f' | '<q';
  data: Float32Array | number[];
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

/**
 * The job both workers run on an h5wasm module and a path in its file system:
 * 'read' returns every dataset (buffers to transfer), 'write' writes the job's
 * groups and datasets.
 */
const RUN = `
function run(h5wasm, path, job) {
  const file = new h5wasm.File(path, job.mode === 'read' ? 'r' : 'w');
  try {
    if (job.mode === 'read') {
      const {datasets, transfer} = readAll(h5wasm, file);
      return [{ok: true, datasets}, transfer];
    }
    writeAll(file, job.groups, job.datasets);
    return [{ok: true}, []];
  } finally {
    file.close();
  }
}
`;

/** The Node worker: h5wasm's Node build opens real paths, so the main thread owns a private temporary file. */
const NODE_WORKER = `
const {parentPort, workerData} = require('worker_threads');
${QUIET_FDS}${WALK}${WRITE_ALL}${RUN}
(async () => {
  try {
    const h5wasm = await import(workerData.entry);
    await h5wasm.ready;
    parentPort.postMessage(...run(h5wasm, workerData.file, workerData.job));
  } catch (e) {
    parentPort.postMessage({ok: false, error: String(e && e.message || e)});
  }
})();
`;

/** The browser worker: h5wasm's script build from the page's URL for it, the file in its in-memory file system. */
const BROWSER_WORKER = `
${WALK}${WRITE_ALL}${RUN}
onmessage = async (event) => {
  try {
    const {url, job, bytes} = event.data;
    importScripts(url);
    const Module = await h5wasm.ready;
    if (job.mode === 'read') Module.FS.writeFile('/model.weights.h5', new Uint8Array(bytes));
    const [message, transfer] = run(h5wasm, '/model.weights.h5', job);
    if (job.mode === 'write') {
      message.bytes = Module.FS.readFile('/model.weights.h5');
      transfer.push(message.bytes.buffer);
    }
    postMessage(message, transfer);
  } catch (e) {
    postMessage({ok: false, error: String(e && e.message || e)});
  }
};
`;

type Job = {mode: 'read'} | {mode: 'write'; groups: [string, string][]; datasets: H5WriteDataset[]};
type Reply = {ok: boolean; error?: string; datasets?: H5Dataset[]; bytes?: Uint8Array};

/**
 * Runs `job` on the file `input` (a read) or on a new file (a write, whose
 * bytes come back in `bytes`), in a worker stopped at `timeoutMs`.
 */
async function runJob(job: Job, input: Uint8Array | null, where: string, timeoutMs: number,
    h5wasmUrl: string | undefined): Promise<Reply> {
  const reading = job.mode === 'read';
  const text = {
    timeout: `${where}: ${reading ? 'reading' : 'writing'} model.weights.h5 took longer than ` +
      `${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was stopped` +
      `${reading ? ' (a damaged or hostile HDF5 file can make the HDF5 library loop)' : ''}.`,
    fail: (m: string) => `${where}: model.weights.h5 could not be ${reading ? 'read as HDF5' : 'written'} (${m}).`,
  };
  if (!runningInNode()) return inWebWorker(job, input, where, timeoutMs, h5wasmUrl, text);
  const [{Worker}, fs, os, path] = await Promise.all([import('worker_threads'), import('fs'), import('os'), import('path')]);
  const entry = await h5wasmNodeEntry();
  // A private temporary file, named by process, removed whatever happens.
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `tfjs-drop-path-h5-${process.pid}-`));
  const file = path.join(dir, 'model.weights.h5');
  try {
    if (input) await fs.promises.writeFile(file, input);
    const reply = await supervise(timeoutMs, text, (settle) => {
      // The HDF5 library's C error stack for a damaged file is kept off the user's stderr (the error says what failed).
      const worker = new Worker(NODE_WORKER, {eval: true, workerData: {entry, file, job}, stderr: true, stdout: true});
      worker.stderr.resume();
      worker.stdout.resume();
      worker.on('message', (m: Reply) => settle.reply(m));
      worker.on('error', (e) => settle.fail(`the HDF5 worker failed: ${e.message}`));
      worker.on('exit', (code) => settle.fail(`the HDF5 worker stopped with exit code ${code}`));
      return () => void worker.terminate();
    });
    if (!reading) reply.bytes = new Uint8Array(await fs.promises.readFile(file));
    return reply;
  } finally {
    await fs.promises.rm(dir, {recursive: true, force: true});
  }
}

function inWebWorker(job: Job, input: Uint8Array | null, where: string, timeoutMs: number, url: string | undefined,
    text: {timeout: string; fail: (m: string) => string}): Promise<Reply> {
  if (typeof url !== 'string' || url === '') {
    return Promise.reject(new Error(`${where}: in the browser, model.weights.h5 is handled by h5wasm in a Web Worker: pass ` +
      "{h5wasmUrl} — the URL of h5wasm's script build, dist/iife/h5wasm.js of the npm package h5wasm 0.10 — " +
      `but received ${url === undefined ? 'none' : JSON.stringify(url)}.`));
  }
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL === 'undefined') {
    return Promise.reject(new Error(`${where}: model.weights.h5 needs Web Workers, which this environment lacks.`));
  }
  const absolute = new URL(url, typeof location === 'undefined' ? undefined : location.href).href;
  return supervise(timeoutMs, text, (settle) => {
    const blob = URL.createObjectURL(new Blob([BROWSER_WORKER], {type: 'text/javascript'}));
    const worker = new Worker(blob);
    worker.onmessage = (event: MessageEvent<Reply>) => settle.reply(event.data);
    worker.onerror = (event: ErrorEvent) => settle.fail(`the HDF5 worker failed: ${event.message || 'no message'}; ` +
      `is h5wasm's script build at ${absolute}?`);
    const bytes = input ? input.slice().buffer : undefined;
    worker.postMessage({url: absolute, job, bytes}, bytes ? [bytes] : []);
    return () => {
      worker.terminate();
      URL.revokeObjectURL(blob);
    };
  });
}

/**
 * The one place a worker's outcome is settled: its first reply, failure or
 * the time limit, whichever comes first; then the worker is stopped.
 */
function supervise(timeoutMs: number, text: {timeout: string; fail: (m: string) => string},
    start: (settle: {reply(m: Reply): void; fail(why: string): void}) => () => void): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    let settled = false;
    let stop = () => {};
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      f();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(text.timeout))), timeoutMs);
    stop = start({
      reply: (m) => settle(() => (m.ok ? resolve(m) : reject(new Error(text.fail(String(m.error)))))),
      fail: (why) => settle(() => reject(new Error(text.fail(why)))),
    });
  });
}

/** Every dataset of an HDF5 file held in memory. `where` names the source in errors. */
export async function readH5(bytes: Uint8Array, where: string, opts: ReadH5Options = {}): Promise<H5Dataset[]> {
  if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x48 || bytes[2] !== 0x44 || bytes[3] !== 0x46) {
    throw new Error(`${where}: model.weights.h5 is not an HDF5 file (it does not start with the HDF5 signature).`);
  }
  const timeoutMs = opts.timeoutMs ?? 30_000 + (bytes.length / 1e8) * 10_000;
  return (await runJob({mode: 'read'}, bytes, where, timeoutMs, opts.h5wasmUrl)).datasets as H5Dataset[];
}

/**
 * An HDF5 file (as bytes) holding `datasets`, with the attribute `name` on
 * each group of `groups` ([path, layer name] pairs). In the browser, h5wasm's
 * script build is loaded from `h5wasmUrl` by a Web Worker.
 */
export async function writeH5(datasets: H5WriteDataset[], groups: [string, string][], where: string,
    h5wasmUrl?: string): Promise<Uint8Array> {
  const bytes = datasets.reduce((n, d) => n + d.data.length * 4, 0);
  const reply = await runJob({mode: 'write', groups, datasets}, null, where, 60_000 + (bytes / 1e8) * 10_000, h5wasmUrl);
  return reply.bytes as Uint8Array;
}
