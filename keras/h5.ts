/**
 * Reading and writing `model.weights.h5` (HDF5) with h5wasm, the HDF5 C
 * library compiled to WebAssembly — no HDF5 parser of our own. The work runs
 * in a worker (below; a worker thread in Node, a Web Worker in the
 * browser) with a time limit: an HDF5 file is untrusted input, and a library
 * that hangs or aborts on a crafted file then costs a clear error, not the
 * process. In both, the file lives only in h5wasm's in-memory file system —
 * nothing is written to the disk, so a killed process leaves nothing behind.
 */

import {nodeModule} from '../src/internal/node_modules';
import {runningInNode} from '../src/internal/node_compat';

/* ---- The worker: what runs inside it, and the messages it takes and gives. ---- */

/*
 * The code that runs inside a worker thread (Node) or a Web
 * Worker (browser) and reads or writes `model.weights.h5` with h5wasm, the
 * HDF5 C library compiled to WebAssembly.
 *
 * `h5WorkerMain` is started from its own source text (`h5WorkerSource`), so
 * it must stay self-contained: it uses nothing from outside its body but its
 * parameters and the worker's globals (no imports, no helpers of this module),
 * and only ES2020 syntax, so that neither tsc nor esbuild adds helpers that
 * live outside it.
 *
 * What it guarantees, in Node and in the browser alike:
 * - The file lives in h5wasm's in-memory file system (the web build, also in
 *   Node): the real disk is not reachable from HDF5 at all. On top of that,
 *   HDF5 may open nothing but the one file: any other path it tries (external
 *   raw storage, an external link, a virtual dataset's source file) is refused
 *   and named in the error.
 * - External links, soft links and virtual datasets are refused by name while
 *   the file is listed, before any value is read.
 * - The listing is bounded (depth, entries); values are read only for the
 *   datasets the caller asks for, and only after their declared sizes are
 *   checked against the bytes the file actually holds.
 */

/** One dataset of the file: its path, shape, dtype and (when it was asked for) values. */
export interface H5Dataset {
  path: string;
  shape: number[];
  /** h5wasm's dtype string: '<f' float32, '<d' float64, '<e' float16, '<i' int32, … */
  dtype: string;
  /** The values, for the datasets the read asked for (numbers only); null otherwise. */
  data: ArrayLike<number> | null;
}

/** One dataset to write: float32 values, or int64 ones (Keras' Normalization count). */
export interface H5WriteDataset {
  path: string;
  shape: number[];
  dtype: '<f' | '<q';
  data: Float32Array | number[];
}

/** The read job: the file's bytes, which datasets to read, and the bounds. */
export interface H5ReadJob {
  mode: 'read';
  /** Values are read for the datasets directly inside these groups (e.g. `layers/dense/vars`); null: every dataset. */
  wanted: string[] | null;
  /** A compressed (filtered) dataset may hold at most this many bytes per stored byte. */
  maxExpansion: number;
  /** The deepest group nesting and the most links listed. */
  maxDepth: number;
  maxEntries: number;
}

/** The write job: groups (with their `name` attribute) and datasets. */
export interface H5WriteJob {
  mode: 'write';
  /** [path, layer name]: the attribute `name` Keras puts on each layer's `vars` group. */
  groups: [string, string][];
  datasets: H5WriteDataset[];
}

export type H5Job = H5ReadJob | H5WriteJob;

/** The worker's one reply. */
export interface H5Reply {
  ok: boolean;
  /** What went wrong, said for the user (the caller adds the file's name). */
  error?: string;
  datasets?: H5Dataset[];
  /** A write's file. */
  bytes?: Uint8Array;
}

/** The one message the worker receives. */
export interface H5Request {
  /** Where h5wasm's web build is: a file URL of its ES module (Node) or the URL of its script build (browser). */
  location: string;
  job: H5Job;
  /** A read's file. */
  bytes?: ArrayBuffer;
}

/** A message port, as Node's `parentPort` and a Web Worker's `self` both are. */
export interface H5Port {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  addEventListener?(type: 'message', listener: (event: {data: unknown}) => void): void;
  once?(type: 'message', listener: (data: unknown) => void): void;
}

/* The parts of h5wasm the worker uses (its own typings are not null-strict). */
interface H5Metadata {
  type: number;
  size: number;
  total_size: number;
  shape: number[] | null;
  virtual_sources?: {file_name: string; dset_name: string}[];
}
interface H5File {
  get(path: string): unknown;
  get_type(path: string): number;
  get_link(path: string): string | null;
  get_external_link(path: string): {filename?: string; obj_path?: string};
  create_group(name: string): void;
  create_attribute(name: string, value: string): void;
  create_dataset(args: {name: string; data: ArrayLike<number> | BigInt64Array; shape: number[]; dtype: string}): void;
  close(): void;
}
interface H5Group {
  keys(): string[];
}
interface H5DatasetObject {
  metadata: H5Metadata;
  dtype: unknown;
  filters: unknown[];
  value: unknown;
}
interface H5FS {
  mkdir(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  open: (path: unknown, flags?: unknown, mode?: unknown) => unknown;
  ErrnoError: new (errno: number) => Error;
}
interface H5wasm {
  ready: Promise<{FS: H5FS; H5G_GROUP: number; H5G_DATASET: number}>;
  File: new (path: string, mode: string) => H5File;
}

/**
 * The worker's body. `port` is Node's `parentPort` or the Web Worker's `self`;
 * `load` loads h5wasm's web build from a location.
 */
export function h5WorkerMain(port: H5Port, load: (location: string) => Promise<unknown>): void {
  const run = async (request: H5Request): Promise<[H5Reply, ArrayBuffer[]]> => {
    const h5wasm = await load(request.location) as H5wasm;
    const Module = await h5wasm.ready;
    const FS = Module.FS;
    FS.mkdir('/model');
    const path = '/model/model.weights.h5';
    if (request.job.mode === 'read') FS.writeFile(path, new Uint8Array(request.bytes as ArrayBuffer));
    // HDF5 may open this one file and nothing else: external raw storage, external links and virtual datasets
    // name other files, and each attempt is refused here and named in the error.
    const outside: string[] = [];
    const open = FS.open;
    FS.open = function guarded(target: unknown, flags?: unknown, mode?: unknown) {
      const name = String(target);
      if (name !== path) {
        if (outside.length < 4) outside.push(name);
        throw new FS.ErrnoError(44); // ENOENT
      }
      return open.call(FS, target, flags, mode);
    };
    const pointsOutside = () => `the file points outside itself, at ${outside.map((n) => JSON.stringify(n)).join(', ')} ` +
      '(HDF5 external storage, an external link or a virtual dataset): a model file is read from its own bytes only';
    let file: H5File;
    try {
      file = new h5wasm.File(path, request.job.mode === 'read' ? 'r' : 'w');
    } catch (e) {
      throw new Error(outside.length ? pointsOutside() : `the HDF5 library could not open it (${(e as Error).message})`);
    }
    if (request.job.mode === 'write') {
      try {
        write(file, request.job);
      } finally {
        file.close();
      }
      FS.open = open;
      const bytes = FS.readFile(path);
      return [{ok: true, bytes}, [bytes.buffer as ArrayBuffer]];
    }
    try {
      const job = request.job;
      const found = list(file, job, Module);
      const wanted = job.wanted === null ? null : new Set(job.wanted);
      const parentOf = (p: string) => p.slice(0, Math.max(0, p.lastIndexOf('/')));
      const reads = new Set(found.filter((d) => d.numeric && (wanted === null || wanted.has(parentOf(d.path)))));
      // Every byte of a weight must be stored in the file (Keras stores weights uncompressed), or be at most
      // maxExpansion bytes per stored byte where the dataset is compressed: a few KB cannot declare gigabytes.
      const stored = (request.bytes as ArrayBuffer).byteLength;
      const claimed = [...reads].reduce((n, d) => n + (d.filtered ? d.bytes / job.maxExpansion : d.bytes), 0);
      if (claimed > stored) {
        const big = [...reads].sort((a, b) => b.bytes - a.bytes)[0] as {path: string; bytes: number};
        throw new Error(`its datasets declare ${Math.round(claimed)} bytes of weights, more than the ${stored} bytes the file ` +
          `holds (the largest: ${big.path}, ${big.bytes} bytes; compressed datasets may expand at most ${job.maxExpansion}×)`);
      }
      const transfer: ArrayBuffer[] = [];
      const datasets: H5Dataset[] = found.map((d) => {
        let data: unknown = null;
        if (reads.has(d)) {
          try {
            data = (file.get(d.path) as H5DatasetObject).value;
          } catch (e) {
            throw new Error(outside.length ? pointsOutside() : `${d.path} could not be read (${(e as Error).message})`);
          }
          if (outside.length) throw new Error(pointsOutside());
          if (typeof data === 'number' || typeof data === 'bigint') data = new Float64Array([Number(data)]);
          if (data instanceof BigInt64Array || data instanceof BigUint64Array) data = Float64Array.from(data, Number);
          if (!ArrayBuffer.isView(data)) data = null;
          else transfer.push((data as Float32Array).buffer as ArrayBuffer);
        }
        return {path: d.path, shape: d.shape, dtype: d.dtype, data: data as ArrayLike<number> | null};
      });
      return [{ok: true, datasets}, transfer];
    } finally {
      file.close();
    }
  };

  /** Every dataset of the file with its declared size, refusing links and virtual datasets; bounded. */
  const list = (file: H5File, job: H5ReadJob, Module: {H5G_GROUP: number; H5G_DATASET: number}) => {
    const found: {path: string; shape: number[]; dtype: string; bytes: number; filtered: boolean; numeric: boolean}[] = [];
    let entries = 0;
    const walk = (prefix: string, depth: number) => {
      if (depth > job.maxDepth) throw new Error(`its groups nest deeper than ${job.maxDepth} levels (at ${prefix || '/'})`);
      const group = (prefix ? file.get(prefix) : file) as H5Group;
      for (const key of group.keys()) {
        const full = prefix ? `${prefix}/${key}` : key;
        if (++entries > job.maxEntries) throw new Error(`it lists more than ${job.maxEntries} objects`);
        const soft = file.get_link(full);
        if (typeof soft === 'string') throw new Error(`${full} is a soft link (to ${JSON.stringify(soft)}); Keras writes no links`);
        const external = file.get_external_link(full);
        if (external && typeof external.filename === 'string') {
          throw new Error(`${full} is an external link to ${JSON.stringify(external.filename)}: a model file is read from its own ` +
            'bytes only');
        }
        const type = file.get_type(full);
        if (type === Module.H5G_GROUP) {
          walk(full, depth + 1);
        } else if (type === Module.H5G_DATASET) {
          const d = file.get(full) as H5DatasetObject;
          const meta = d.metadata;
          if (meta.virtual_sources) {
            const sources = meta.virtual_sources.map((s) => JSON.stringify(s.file_name)).slice(0, 3).join(', ');
            throw new Error(`${full} is a virtual dataset (its values come from ${sources}): a model file is read from its own bytes only`);
          }
          const shape = (meta.shape ?? []).map(Number);
          // 0: integer, 1: float (HDF5's type classes); the rest (strings, compounds, …) hold no weights.
          const numeric = (meta.type === 0 || meta.type === 1) && meta.shape !== null;
          found.push({path: full, shape, dtype: String(d.dtype), bytes: Number(meta.total_size) * Number(meta.size),
            filtered: d.filters.length > 0, numeric});
        }
      }
    };
    walk('', 0);
    return found;
  };

  /** Groups (parents first) with Keras' `name` attribute on each `vars` group, then the datasets. */
  const write = (file: H5File, job: H5WriteJob) => {
    const made = new Set(['']);
    const group = (path: string) => {
      if (made.has(path)) return;
      const cut = path.lastIndexOf('/');
      const parent = cut < 0 ? '' : path.slice(0, cut);
      group(parent);
      ((parent ? file.get(parent) : file) as H5File).create_group(path.slice(cut + 1));
      made.add(path);
    };
    for (const [path, name] of job.groups) {
      group(path);
      (file.get(path) as H5File).create_attribute('name', name);
    }
    for (const d of job.datasets) {
      const cut = d.path.lastIndexOf('/');
      group(d.path.slice(0, cut));
      const data = d.dtype === '<q' ? BigInt64Array.from(d.data, (v) => BigInt(Math.round(v))) : d.data;
      (file.get(d.path.slice(0, cut)) as H5File).create_dataset({name: d.path.slice(cut + 1), data, shape: d.shape, dtype: d.dtype});
    }
  };

  const respond = (message: unknown) => {
    run(message as H5Request).then(([reply, transfer]) => port.postMessage(reply, transfer),
      (e: unknown) => port.postMessage({ok: false, error: String((e as Error)?.message ?? e)}));
  };
  if (port.once) port.once('message', respond);
  else port.addEventListener?.('message', (event) => respond(event.data));
}

/** The worker's script: `h5WorkerMain` started on Node's parentPort (Node) or on the Web Worker's self. */
export function h5WorkerSource(platform: 'node' | 'browser'): string {
  const body = h5WorkerMain.toString();
  return platform === 'node' ?
    `(${body})(require('worker_threads').parentPort, (location) => import(location));` :
    `(${body})(self, (location) => { importScripts(location); return Promise.resolve(self.h5wasm); });`;
}

/* ---- The supervisor: starts the worker, gives it the job and a time limit. ---- */

export interface ReadH5Options {
  /** Time limit of the read in ms; default 30 s plus 10 s per 100 MB. */
  timeoutMs?: number;
  /**
   * In the browser: the URL of h5wasm's script build (`h5wasm/dist/iife/h5wasm.js`
   * of the npm package h5wasm 0.10), which a Web Worker loads to read the file.
   */
  h5wasmUrl?: string;
  /** Values are read only for the datasets inside these groups (`layers/dense/vars`); default: every dataset. */
  wanted?: string[];
  /** A compressed dataset may hold at most this many bytes per stored byte (default 20). */
  maxExpansion?: number;
}

/** The deepest group nesting and the most objects a read lists (Keras' largest models nest 6 deep, list some 10,000). */
export const H5_MAX_DEPTH = 32;
export const H5_MAX_ENTRIES = 1_000_000;

/** setTimeout's longest delay (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The file URL of h5wasm's web build (an ES module; its in-memory file system is the only one it sees). */
function h5wasmNodeEntry(): string {
  const [fs, path, {pathToFileURL}] = [nodeModule('fs'), nodeModule('path'), nodeModule('url')];
  const candidates = require.resolve.paths('h5wasm') ?? [];
  for (const dir of candidates) {
    const entry = path.join(dir, 'h5wasm', 'dist', 'esm', 'hdf5_hl.js');
    if (fs.existsSync(entry)) return pathToFileURL(entry).href;
  }
  throw new Error('the npm package h5wasm (a dependency of tfjs-drop-path) was not found ' +
    `in ${candidates.join(', ') || 'any node_modules folder'}.`);
}

type Texts = {timeout: string; fail: (m: string) => string};

/**
 * Runs `job` on the file `input` (a read) or on a new file (a write, whose
 * bytes come back in `bytes`), in a worker stopped at `timeoutMs`.
 */
async function runJob(job: H5Job, input: Uint8Array | null, where: string, timeoutMs: number,
    h5wasmUrl: string | undefined): Promise<H5Reply> {
  const reading = job.mode === 'read';
  const text: Texts = {
    timeout: `${where}: ${reading ? 'reading' : 'writing'} model.weights.h5 took longer than ` +
      `${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} and was stopped` +
      `${reading ? ' (a damaged or hostile HDF5 file can make the HDF5 library loop)' : ''}.`,
    fail: (m: string) => `${where}: model.weights.h5 could not be ${reading ? 'read as HDF5' : 'written'} (${m}).`,
  };
  // The worker gets its own copy of the bytes (transferred, not shared; a Node Buffer's slice would be a view).
  const bytes = input ? new Uint8Array(input).buffer as ArrayBuffer : undefined;
  if (!runningInNode()) return inWebWorker(job, bytes, where, timeoutMs, h5wasmUrl, text);
  const {Worker} = nodeModule('worker_threads');
  const location = h5wasmNodeEntry();
  return supervise(timeoutMs, text, (settle) => {
    // The HDF5 library's C error stack for a damaged file is kept off the user's stderr (the error says what failed).
    const worker = new Worker(h5WorkerSource('node'), {eval: true, stderr: true, stdout: true});
    worker.stderr.resume();
    worker.stdout.resume();
    worker.on('message', (m: H5Reply) => settle.reply(m));
    worker.on('error', (e) => settle.fail(`the HDF5 worker failed: ${e.message}`));
    worker.on('exit', (code) => settle.fail(`the HDF5 worker stopped with exit code ${code}`));
    const request: H5Request = {location, job, bytes};
    worker.postMessage(request, bytes ? [bytes] : []);
    return () => void worker.terminate();
  });
}

function inWebWorker(job: H5Job, bytes: ArrayBuffer | undefined, where: string, timeoutMs: number, url: string | undefined,
    text: Texts): Promise<H5Reply> {
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
    const blob = URL.createObjectURL(new Blob([h5WorkerSource('browser')], {type: 'text/javascript'}));
    const worker = new Worker(blob);
    worker.onmessage = (event: MessageEvent<H5Reply>) => settle.reply(event.data);
    worker.onerror = (event: ErrorEvent) => settle.fail(`the HDF5 worker failed: ${event.message || 'no message'}; ` +
      `is h5wasm's script build at ${absolute}?`);
    const request: H5Request = {location: absolute, job, bytes};
    worker.postMessage(request, bytes ? [bytes] : []);
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
function supervise(timeoutMs: number, text: Texts,
    start: (settle: {reply(m: H5Reply): void; fail(why: string): void}) => () => void): Promise<H5Reply> {
  return new Promise<H5Reply>((resolve, reject) => {
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

/** The default time limit of a read of `bytes` bytes: 30 s plus 10 s per 100 MB. */
export function defaultH5TimeoutMs(bytes: number): number {
  return Math.min(MAX_TIMEOUT_MS, 30_000 + (bytes / 1e8) * 10_000);
}

/**
 * The datasets of an HDF5 file held in memory: every dataset's path, shape
 * and dtype, with values for the `wanted` groups' datasets (all, by default).
 * `where` names the source in errors.
 */
export async function readH5(bytes: Uint8Array, where: string, opts: ReadH5Options = {}): Promise<H5Dataset[]> {
  if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x48 || bytes[2] !== 0x44 || bytes[3] !== 0x46) {
    throw new Error(`${where}: model.weights.h5 is not an HDF5 file (it does not start with the HDF5 signature).`);
  }
  const job: H5Job = {mode: 'read', wanted: opts.wanted ?? null, maxExpansion: opts.maxExpansion ?? 20,
    maxDepth: H5_MAX_DEPTH, maxEntries: H5_MAX_ENTRIES};
  const timeoutMs = opts.timeoutMs ?? defaultH5TimeoutMs(bytes.length);
  return (await runJob(job, bytes, where, timeoutMs, opts.h5wasmUrl)).datasets as H5Dataset[];
}

/**
 * An HDF5 file (as bytes) holding `datasets`, with the attribute `name` on
 * each group of `groups` ([path, layer name] pairs). In the browser, h5wasm's
 * script build is loaded from `h5wasmUrl` by a Web Worker.
 */
export async function writeH5(datasets: H5WriteDataset[], groups: [string, string][], where: string,
    h5wasmUrl?: string): Promise<Uint8Array> {
  const bytes = datasets.reduce((n, d) => n + d.data.length * 4, 0);
  const reply = await runJob({mode: 'write', groups, datasets}, null, where,
    Math.min(MAX_TIMEOUT_MS, 60_000 + (bytes / 1e8) * 10_000), h5wasmUrl);
  return reply.bytes as Uint8Array;
}
