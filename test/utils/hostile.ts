/**
 * The hostile-file corpus, part 2 (made at test time): `.keras` archives whose
 * zip structure or config.json is hostile, built from the tiny base model of
 * part 1 (test/fixtures/keras/hostile/base.keras, made by make_hostile.py with
 * Keras and h5py: HDF5 files pointing outside themselves). Each entry names
 * the item of issue 17 it covers and the refusal loadKerasModel must give.
 */
import * as fs from 'fs';
import * as path from 'path';
import {deflateSync, strToU8, unzipSync} from 'fflate';

import {crc32} from '../../src/internal/crc32';

export const HOSTILE = path.join(__dirname, '..', 'fixtures', 'keras', 'hostile');

type Json = Record<string, unknown>;

/** The base archive's parts: a Functional model Input 'x' (4) → Dense 'dense' (3). */
export function baseParts(): Record<string, Uint8Array> {
  return unzipSync(fs.readFileSync(path.join(HOSTILE, 'base.keras')));
}

export function baseConfig(): Json {
  return JSON.parse(Buffer.from(baseParts()['config.json'] as Uint8Array).toString('utf8')) as Json;
}

/** One zip entry: its bytes as stored, how, and the sizes and CRC the directory declares (the real ones by default). */
export interface ForgedEntry {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  declaredSize?: number;
  crc?: number;
}

/** A zip archive written by hand, so that its directory can declare what it likes. */
export function forgeZip(entries: ForgedEntry[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const stored = e.deflate ? deflateSync(e.data, {level: 9}) : e.data;
    const name = strToU8(e.name);
    const crc = e.crc ?? crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const head = (sig: number, len: number) => {
      const b = new Uint8Array(len);
      const v = new DataView(b.buffer);
      v.setUint32(0, sig, true);
      return {b, v};
    };
    const local = head(0x04034b50, 30 + name.length);
    local.v.setUint16(4, 20, true);
    local.v.setUint16(8, e.deflate ? 8 : 0, true);
    local.v.setUint32(14, crc, true);
    local.v.setUint32(18, stored.length, true);
    local.v.setUint32(22, size >>> 0, true);
    local.v.setUint16(26, name.length, true);
    local.b.set(name, 30);
    const cd = head(0x02014b50, 46 + name.length);
    cd.v.setUint16(4, 20, true);
    cd.v.setUint16(6, 20, true);
    cd.v.setUint16(10, e.deflate ? 8 : 0, true);
    cd.v.setUint32(16, crc, true);
    cd.v.setUint32(20, stored.length, true);
    cd.v.setUint32(24, size >>> 0, true);
    cd.v.setUint16(28, name.length, true);
    cd.v.setUint32(42, offset, true);
    cd.b.set(name, 46);
    locals.push(local.b, stored);
    central.push(cd.b);
    offset += local.b.length + stored.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const v = new DataView(end.buffer);
  v.setUint32(0, 0x06054b50, true);
  v.setUint16(8, entries.length, true);
  v.setUint16(10, entries.length, true);
  v.setUint32(12, cdSize, true);
  v.setUint32(16, offset, true);
  return Buffer.concat([...locals, ...central, end]);
}

/** The base archive with config.json replaced (an object is serialized; a string is taken as the text). */
export function withConfig(config: Json | string): Uint8Array {
  const parts = baseParts();
  return forgeZip([
    {name: 'metadata.json', data: parts['metadata.json'] as Uint8Array},
    {name: 'config.json', data: typeof config === 'string' ? strToU8(config) : strToU8(JSON.stringify(config))},
    {name: 'model.weights.h5', data: parts['model.weights.h5'] as Uint8Array},
  ]);
}

/** The base config, changed by `edit` (which receives the config and its two layers). */
export function editedConfig(edit: (config: Json, input: Json, dense: Json) => void): Uint8Array {
  const config = baseConfig();
  const layers = (config.config as Json).layers as Json[];
  edit(config, layers[0] as Json, layers[1] as Json);
  return withConfig(config);
}

/** A Keras tensor reference, as Keras 3 writes a node's args. */
export const kerasTensor = (layer: string, node = 0, tensor = 0) =>
  ({class_name: '__keras_tensor__', config: {shape: [null, 4], dtype: 'float32', keras_history: [layer, node, tensor]}});

/** A second Dense layer config like the base's, with its own name and one call. */
export function denseLike(dense: Json, name: string, inputs: unknown[]): Json {
  const copy = JSON.parse(JSON.stringify(dense)) as Json;
  copy.name = name;
  (copy.config as Json).name = name;
  copy.inbound_nodes = [{args: inputs, kwargs: {}}];
  return copy;
}
