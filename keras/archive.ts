/**
 * The `.keras` archive (Keras 3): a zip of `config.json`, `metadata.json` and
 * `model.weights.h5` (metadata.json, Keras' version and date, is not read). Untrusted input: the zip's central directory is read
 * first and every size it declares is checked against the limits and the
 * bytes the archive holds before anything is inflated; an entry is inflated
 * into a buffer of its declared size and must end exactly there with its
 * declared CRC-32. Every way it can be broken gives an error that says what
 * was expected and what arrived; nothing in it is run.
 */
import {Inflate, strToU8, zipSync} from 'fflate';

import {crc32} from '../src/internal/crc32';

export {crc32};

/** The parts of a `.keras` file this package reads. */
export interface KerasArchive {
  config: Record<string, unknown>;
  /** The bytes of `model.weights.h5`. */
  weights: Uint8Array;
  /** The size of config.json in bytes (values a config holds bound the weights it may build). */
  configBytes: number;
}

/** How much a `.keras` archive may make its reader hold (loadKerasModel's options of the same names). */
export interface ArchiveLimits {
  /** config.json and metadata.json, inflated. */
  maxConfigBytes: number;
  /** model.weights.h5, inflated. */
  maxWeightsBytes: number;
  /** A compressed entry may inflate to at most this many bytes per stored byte. */
  maxExpansion: number;
}

const MiB = 2 ** 20;

function parseJson(bytes: Uint8Array, name: string, where: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  } catch {
    throw new Error(`${where}: ${name} is not UTF-8 text.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: ${name} is not valid JSON (${(e as Error).message}).`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where}: ${name} must hold a JSON object, but holds ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}.`);
  }
  return value as Record<string, unknown>;
}

/** One entry of the zip's central directory. */
interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

const u16 = (b: Uint8Array, i: number) => (b[i] as number) | ((b[i + 1] as number) << 8);
const u32 = (b: Uint8Array, i: number) => (u16(b, i) | (u16(b, i + 2) << 16)) >>> 0;

/** The central directory: every entry's name, method, sizes and offset, each checked to lie inside the archive. */
function centralDirectory(bytes: Uint8Array, where: string): ZipEntry[] {
  const damaged = (why: string) => new Error(`${where}: the zip archive is damaged or truncated (${why}).`);
  // The end-of-central-directory record: in the last 22 + 65,535 bytes (its comment may be that long).
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (u32(bytes, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw damaged('no end-of-central-directory record');
  const count = u16(bytes, eocd + 10);
  const cdSize = u32(bytes, eocd + 12);
  const cdOffset = u32(bytes, eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    throw new Error(`${where}: the archive is a zip64 archive (for files over 4 GB), which is not read.`);
  }
  if (cdOffset + cdSize > eocd) throw damaged(`its central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdOffset + cdSize || u32(bytes, p) !== 0x02014b50) throw damaged(`central directory entry ${n} is broken`);
    const nameLength = u16(bytes, p + 28);
    const extraLength = u16(bytes, p + 30);
    const commentLength = u16(bytes, p + 32);
    const entry: ZipEntry = {
      name: new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength)),
      flags: u16(bytes, p + 8), method: u16(bytes, p + 10), crc: u32(bytes, p + 16),
      compressed: u32(bytes, p + 20), size: u32(bytes, p + 24), offset: u32(bytes, p + 42),
    };
    // Zip64 sizes and offset (Python's zipfile writes them for entries over 2 GB), in the extra field 0x0001.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = u16(bytes, e);
      const length = u16(bytes, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          const v = u32(bytes, q) + u32(bytes, q + 4) * 2 ** 32;
          q += 8;
          return v;
        };
        if (entry.size === 0xffffffff) entry.size = next();
        if (entry.compressed === 0xffffffff) entry.compressed = next();
        if (entry.offset === 0xffffffff) entry.offset = next();
      }
      e += 4 + length;
    }
    entries.push(entry);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The bytes of one entry, inflated into a buffer of its declared size, which they must fill exactly. */
function entryBytes(bytes: Uint8Array, e: ZipEntry, where: string): Uint8Array {
  const damaged = (why: string) => new Error(`${where}: the zip archive is damaged or truncated (${e.name}: ${why}).`);
  if (e.offset + 30 > bytes.length || u32(bytes, e.offset) !== 0x04034b50) throw damaged('no local header where the directory says');
  const start = e.offset + 30 + u16(bytes, e.offset + 26) + u16(bytes, e.offset + 28);
  if (start + e.compressed > bytes.length) {
    throw damaged(`its ${e.compressed} stored bytes run past the end of the ${bytes.length}-byte archive`);
  }
  const stored = bytes.subarray(start, start + e.compressed);
  let out: Uint8Array;
  if (e.method === 0) {
    if (e.compressed !== e.size) throw damaged(`stored, but declares ${e.size} bytes in ${e.compressed}`);
    out = stored;
  } else {
    out = new Uint8Array(e.size);
    let filled = 0;
    let ended = false;
    const inflate = new Inflate((chunk, final) => {
      if (filled + chunk.length > out.length) {
        throw damaged(`it inflates to more than the ${e.size} bytes it declares`);
      }
      out.set(chunk, filled);
      filled += chunk.length;
      if (final) ended = true;
    });
    try {
      // Small pieces, so that no one push can inflate far past the declared size.
      const piece = 16384;
      for (let i = 0; i < stored.length && !ended; i += piece) {
        inflate.push(stored.subarray(i, i + piece), i + piece >= stored.length);
      }
    } catch (err) {
      const message = (err as Error).message;
      throw message.startsWith(where) ? err : damaged(`its deflate stream is broken: ${message}`);
    }
    if (filled !== e.size) throw damaged(`it inflates to ${filled} bytes, not the ${e.size} it declares`);
  }
  if (crc32(out) !== e.crc) throw damaged('its CRC-32 does not match its bytes');
  return out;
}

const plural = (n: number) => `${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}`;
const size = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : plural(n));

/**
 * Unpacks a `.keras` archive held in memory. `where` names the source in
 * errors; `limits` bound what it may make the reader hold.
 */
export function readKerasArchive(bytes: Uint8Array, where: string, limits: ArchiveLimits): KerasArchive {
  if (!(bytes instanceof Uint8Array)) throw new Error(`${where}: expected the bytes of a .keras file.`);
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${where}: not a .keras file: a .keras file is a zip archive (it starts with the bytes 50 4b), ` +
      `but this one ${bytes.length === 0 ? 'is empty' : `starts with ${head}`}. A Keras 2 .h5 model or a SavedModel ` +
      'folder is not read by loadKerasModel.');
  }
  const entries = new Map<string, ZipEntry>();
  for (const e of centralDirectory(bytes, where)) if (!entries.has(e.name)) entries.set(e.name, e);
  const missing = ['config.json', 'model.weights.h5'].filter((n) => !entries.has(n));
  if (missing.length) {
    throw new Error(`${where}: a .keras archive holds config.json and model.weights.h5, but ${missing.join(' and ')} ` +
      `${missing.length === 1 ? 'is' : 'are'} missing.`);
  }
  // Every declared size is checked before anything is inflated.
  const checked = (name: string, max: number, option: string, expands: boolean): ZipEntry | undefined => {
    const e = entries.get(name);
    if (!e) return undefined;
    if (e.flags & 1) throw new Error(`${where}: ${name} is encrypted, which a .keras file never is.`);
    if (e.method !== 0 && e.method !== 8) {
      throw new Error(`${where}: ${name} uses zip compression method ${e.method}; a .keras file stores (0) or deflates (8) its entries.`);
    }
    if (e.size > max) {
      throw new Error(`${where}: ${name} declares ${size(e.size)}, more than the limit ${option} (${size(max)}); raise ` +
        `${option} if the file is trusted.`);
    }
    if (expands && e.method === 8 && e.size > e.compressed * limits.maxExpansion) {
      throw new Error(`${where}: ${name} declares ${size(e.size)} from ${size(e.compressed)} compressed, an expansion of ` +
        `${Math.round(e.size / Math.max(1, e.compressed))}× where the limit maxExpansion is ${limits.maxExpansion}× (a zip bomb?).`);
    }
    return e;
  };
  // JSON text deflates 10–50×, so the configs are bounded by size alone; the weights also by their expansion.
  const configEntry = checked('config.json', limits.maxConfigBytes, 'maxConfigBytes', false) as ZipEntry;
  const weightsEntry = checked('model.weights.h5', limits.maxWeightsBytes, 'maxWeightsBytes', true) as ZipEntry;
  const configBytes = entryBytes(bytes, configEntry, where);
  return {
    config: parseJson(configBytes, 'config.json', where),
    weights: entryBytes(bytes, weightsEntry, where),
    configBytes: configBytes.length,
  };
}

/** Packs a `.keras` archive: config.json, metadata.json and model.weights.h5 (stored, as Keras writes them). */
export function writeKerasArchive(config: Record<string, unknown>, metadata: Record<string, unknown>, weights: Uint8Array): Uint8Array {
  return zipSync({
    'metadata.json': strToU8(JSON.stringify(metadata)),
    'config.json': strToU8(JSON.stringify(config)),
    'model.weights.h5': [weights, {level: 0}],
  }, {level: 6});
}
