/**
 * The HDF5 worker: the code that runs inside a worker thread (Node) or a Web
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
    try {
      if (request.job.mode === 'write') {
        write(file, request.job);
        file.close();
        FS.open = open;
        const bytes = FS.readFile(path);
        return [{ok: true, bytes}, [bytes.buffer as ArrayBuffer]];
      }
      const job = request.job;
      const found = list(file, job, Module);
      const wanted = job.wanted === null ? null : new Set(job.wanted);
      const parentOf = (p: string) => p.slice(0, Math.max(0, p.lastIndexOf('/')));
      const reads = found.filter((d) => d.numeric && (wanted === null || wanted.has(parentOf(d.path))));
      // Every byte of a weight must be stored in the file (Keras stores weights uncompressed), or be at most
      // maxExpansion bytes per stored byte where the dataset is compressed: a few KB cannot declare gigabytes.
      const stored = (request.bytes as ArrayBuffer).byteLength;
      const claimed = reads.reduce((n, d) => n + (d.filtered ? d.bytes / job.maxExpansion : d.bytes), 0);
      if (claimed > stored) {
        const big = reads.slice().sort((a, b) => b.bytes - a.bytes)[0] as {path: string; bytes: number};
        throw new Error(`its datasets declare ${Math.round(claimed)} bytes of weights, more than the ${stored} bytes the file ` +
          `holds (the largest: ${big.path}, ${big.bytes} bytes; compressed datasets may expand at most ${job.maxExpansion}×)`);
      }
      const transfer: ArrayBuffer[] = [];
      const datasets: H5Dataset[] = found.map((d) => {
        let data: unknown = null;
        if (reads.includes(d)) {
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
      try {
        file.close();
      } catch {
        // closed already (a write)
      }
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
