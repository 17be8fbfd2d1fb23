/**
 * Reading and writing `model.weights.h5` (HDF5) with h5wasm, the HDF5 C
 * library compiled to WebAssembly — no HDF5 parser of our own. The work runs
 * in a worker (`h5_worker.ts`; a worker thread in Node, a Web Worker in the
 * browser) with a time limit: an HDF5 file is untrusted input, and a library
 * that hangs or aborts on a crafted file then costs a clear error, not the
 * process. In both, the file lives only in h5wasm's in-memory file system —
 * nothing is written to the disk, so a killed process leaves nothing behind.
 */
import {runningInNode} from '../internal/node_compat';
import {h5WorkerSource} from './h5_worker';
import type {H5Dataset, H5Job, H5Reply, H5Request, H5WriteDataset} from './h5_worker';

export type {H5Dataset, H5WriteDataset} from './h5_worker';

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
async function h5wasmNodeEntry(): Promise<string> {
  const [fs, path, {pathToFileURL}] = await Promise.all([import('fs'), import('path'), import('url')]);
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
  const [{Worker}, location] = await Promise.all([import('worker_threads'), h5wasmNodeEntry()]);
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
