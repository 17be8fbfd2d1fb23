/**
 * A safetensors file read as untrusted input: an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]},
 * __metadata__?: {string: string}}`, then the tensors' bytes. Everything the
 * header declares is checked before any tensor is read: the header's length
 * against a limit and the file, every entry's fields, dtype and shape, and
 * its byte range against its shape and the data — ranges inside the data,
 * none overlapping, no bytes left over (the format's own rules). Tensors are
 * decoded only when asked for, into float32 (float16 and bfloat16 exactly,
 * float64 rounded).
 */
import {describe} from '../src/internal/validate';

/** The dtypes read, and their sizes in bytes. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = Object.freeze({F32: 4, F16: 2, BF16: 2, F64: 8});

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data part (after the header). */
  begin: number;
  end: number;
}

export interface Safetensors {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** The tensor as float32 values (a new array). */
  read(name: string): Float32Array;
}

const MAX_RANK = 8;

/** Reads the header of `bytes`, refusing anything the format does not allow; `where` starts every message. */
export function readSafetensors(bytes: Uint8Array, maxHeaderBytes: number, where: string): Safetensors {
  if (bytes.length < 8) throw new Error(`${where}: ${bytes.length} bytes is too short for a safetensors file (8-byte header length first).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + view.getUint32(0, true);
  if (headerLength > maxHeaderBytes) {
    throw new Error(`${where}: the header declares ${headerLength} bytes, more than the limit maxHeaderBytes (${maxHeaderBytes}).`);
  }
  if (8 + headerLength > bytes.length) {
    throw new Error(`${where}: the header declares ${headerLength} bytes, but the file has only ${bytes.length - 8} after its length.`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new Error(`${where}: the header is not UTF-8 text.`);
  }
  if (!text.startsWith('{')) throw new Error(`${where}: the header must be a JSON object starting with '{'.`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: the header is not valid JSON (${(e as Error).message}).`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error(`${where}: the header must be a JSON object.`);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value) ||
          Object.values(value as object).some((v) => typeof v !== 'string')) {
        throw new Error(`${where}: __metadata__ must map strings to strings, but received ${describe(value)}.`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    entries.set(name, checkEntry(name, value, dataLength, where));
  }
  // Ranges: none overlapping, the data covered exactly.
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) throw new Error(`${where}: tensor '${e.name}' (bytes ${e.begin}–${e.end}) overlaps the tensor before it (to ${at}).`);
    if (e.begin > at) throw new Error(`${where}: bytes ${at}–${e.begin} of the data belong to no tensor (a hole before '${e.name}').`);
    at = e.end;
  }
  if (at !== dataLength) {
    throw new Error(`${where}: the tensors end at byte ${at} of the data, but the file holds ${dataLength}: ${dataLength - at} bytes belong to no tensor.`);
  }
  const read = (name: string): Float32Array => {
    const e = entries.get(name);
    if (!e) throw new Error(`${where}: no tensor '${name}'.`);
    return decode(bytes.subarray(dataStart + e.begin, dataStart + e.end), e.dtype);
  };
  return {entries, metadata, read};
}

function checkEntry(name: string, value: unknown, dataLength: number, where: string): SafetensorsEntry {
  const at = `${where}: tensor '${name}'`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${at} must be an object {dtype, shape, data_offsets}.`);
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !['dtype', 'shape', 'data_offsets'].includes(k));
  if (unknown.length) throw new Error(`${at} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}.`);
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) {
    throw new Error(`${at} has dtype ${describe(dtype)}; the dtypes read are ${Object.keys(SAFETENSORS_DTYPES).join(', ')}.`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new Error(`${at} must have a shape of at most ${MAX_RANK} non-negative integers, but received ${describe(shape)}.`);
  }
  const offsets = v.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
      (offsets[0] as number) > (offsets[1] as number)) {
    throw new Error(`${at} must have data_offsets [begin, end] with 0 ≤ begin ≤ end, but received ${describe(offsets)}.`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) throw new Error(`${at} ends at byte ${end} of the data, past its end (${dataLength} bytes).`);
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const size = SAFETENSORS_DTYPES[dtype] as number;
  if (count * size !== end - begin) {
    throw new Error(`${at}: shape [${shape}] of ${dtype} takes ${count * size} bytes, but its data_offsets span ${end - begin}.`);
  }
  return {name, dtype, shape: shape as number[], begin, end};
}

const f16Table = (() => {
  // float16 → float32 for all 65 536 bit patterns (subnormals, infinities and NaN included).
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    t[h] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

function decode(raw: Uint8Array, dtype: string): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = SAFETENSORS_DTYPES[dtype] as number;
  const out = new Float32Array(raw.byteLength / size);
  if (dtype === 'F32') for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F64') for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < out.length; i++) out[i] = f16Table[view.getUint16(2 * i, true)] as number;
  else {
    // bfloat16: the high half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}
