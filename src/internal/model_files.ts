/**
 * Reading model files as untrusted input, for the Keras and timm doors alike:
 * a local file (a regular file only, within a size limit), a fetched URL
 * (refused past the limit while it streams), a file:// URL's path, and a
 * model built within the weight budget its file can pay for.
 */
import {layers as tfLayers, models} from '@tensorflow/tfjs-layers';
import type {LayersModel} from '@tensorflow/tfjs-layers';

import {runningInNode} from './node_compat';
import {nodeModule} from './node_modules';

type Layer = LayersModel['layers'][number];

const MiB = 2 ** 20;

/** A byte count for messages: MiB from 1 MiB up. */
export const sizeText = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} bytes`);

/**
 * A local file's bytes: a regular file (opened without blocking, so a FIFO or
 * a device is refused rather than waited on) no larger than `max`.
 */
export async function readLocalFile(file: string, max: number, what: string, option: string): Promise<Uint8Array> {
  const fs = nodeModule('fs');
  let handle: import('fs').promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${what} '${file}' is not a regular file (a folder, a FIFO or a device), so it is not read.`);
    if (stat.size > max) {
      throw new Error(`${what} '${file}' is ${sizeText(stat.size)}, more than the limit ${option} (${sizeText(max)}).`);
    }
    const bytes = new Uint8Array(stat.size);
    for (let at = 0; at < bytes.length;) {
      const {bytesRead} = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) throw new Error(`${what} '${file}' shrank while it was read (${at} of ${bytes.length} bytes).`);
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/** The path of a file:// URL, with an error naming the URL when it is not one this machine can open. */
export async function fileUrlPath(source: string, who = 'loadKerasModel'): Promise<string> {
  const {fileURLToPath} = nodeModule('url');
  try {
    return fileURLToPath(source);
  } catch (e) {
    throw new Error(`${who}('${source}'): not a file URL this machine can open (${(e as Error).message}).`);
  }
}

/**
 * The bytes a path or URL string names, within `max`: an http(s) URL (any string in the browser, relative to the
 * page) is fetched, a file:// URL or a path is read as a regular file. Errors start with `who`; `what` and `option`
 * name the file and the limit in a size refusal.
 */
export async function readPathOrUrl(source: string, max: number, who: string, what: string, option: string): Promise<Uint8Array> {
  if (/^https?:\/\//i.test(source) || !runningInNode()) return fetchBytes(source, max, who);
  const file = /^file:/i.test(source) ? await fileUrlPath(source, who) : source;
  try {
    return await readLocalFile(file, max, what, option);
  } catch (e) {
    throw new Error(`${who}: ${(e as Error).message}`);
  }
}

/** The body of a fetched URL, refused past `max` bytes (by its Content-Length, and while it streams). */
export async function fetchBytes(url: string, max: number, who = 'loadKerasModel'): Promise<Uint8Array> {
  const where = `${who}('${url}')`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    const cause = (e as {cause?: {message?: string; code?: string}}).cause;
    throw new Error(`${where}: GET ${url} failed (${[(e as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': ')}).`);
  }
  if (!response.ok) throw new Error(`${where}: GET ${url} answered ${response.status} ${response.statusText}.`);
  const declared = Number(response.headers.get('content-length'));
  const tooBig = (n: number) => new Error(`${where}: the response is ${n === Infinity ? 'larger than' : sizeText(n) + ','} ` +
    `more than the limit maxFileBytes (${sizeText(max)}).`);
  if (Number.isFinite(declared) && declared > max) throw tooBig(declared);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw tooBig(Infinity);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/**
 * Builds a model from a checked tfjs topology, allowing its layers to create
 * at most `budget` weight values in all — what the file really holds — so a
 * config that declares a layer of 2^26 units is refused before a gigabyte is
 * allocated. tfjs-layers builds the model synchronously inside
 * `modelFromJSON`'s first step, the only time the guard is in place.
 */
export function buildWithinBudget(topology: Record<string, unknown>, budget: number, where: string): Promise<LayersModel> {
  try {
    return withinWeightBudget(budget, where, () => models.modelFromJSON({modelTopology: topology} as never));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Runs `build` (synchronous, or whose synchronous part builds the layers) while every layer may create at most
 * `budget` weight values in all; the message names the layer, the weight and `where`.
 */
export function withinWeightBudget<T>(budget: number, where: string, build: () => T): T {
  const proto = tfLayers.Layer.prototype as unknown as {addWeight: (this: Layer, name: string, shape: number[], ...rest: unknown[]) => unknown};
  const addWeight = proto.addWeight;
  let used = 0;
  proto.addWeight = function bounded(this: Layer, name: string, shape: number[], ...rest: unknown[]) {
    const n = (shape ?? []).reduce((a, b) => a * (b ?? NaN), 1);
    if (!Number.isFinite(n) || n < 0 || used + n > budget) {
      throw new Error(`${where}: layer '${this.name}' would create the weight '${name}' of shape [${shape}] ` +
        `(${Number.isFinite(n) ? n.toLocaleString('en-US') : 'an unknown number of'} values) where the file holds only ` +
        `${budget.toLocaleString('en-US')} weight values in all${used ? ` and ${used.toLocaleString('en-US')} are taken` : ''}: ` +
        'its config declares weights the file does not hold.');
    }
    used += n;
    return addWeight.call(this, name, shape, ...rest);
  };
  try {
    return build();
  } finally {
    proto.addWeight = addWeight;
  }
}

