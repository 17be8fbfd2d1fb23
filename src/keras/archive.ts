/**
 * The `.keras` archive (Keras 3): a zip of `config.json`, `metadata.json` and
 * `model.weights.h5`. Untrusted input: every way it can be broken gives an
 * error that says what was expected and what arrived; nothing in it is run.
 */
import {strToU8, unzipSync, zipSync} from 'fflate';

/** The parts of a `.keras` file this package reads. */
export interface KerasArchive {
  config: Record<string, unknown>;
  /** `metadata.json` (keras_version, date_saved), or null when the archive has none. */
  metadata: Record<string, unknown> | null;
  /** The bytes of `model.weights.h5`. */
  weights: Uint8Array;
}

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

/** Unpacks a `.keras` archive held in memory. `where` names the source in errors. */
export function readKerasArchive(bytes: Uint8Array, where: string): KerasArchive {
  if (!(bytes instanceof Uint8Array)) throw new Error(`${where}: expected the bytes of a .keras file.`);
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${where}: not a .keras file: a .keras file is a zip archive (it starts with the bytes 50 4b), ` +
      `but this one ${bytes.length === 0 ? 'is empty' : `starts with ${head}`}. A Keras 2 .h5 model or a SavedModel ` +
      'folder is not read by loadKerasModel.');
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {filter: (f) => ['config.json', 'metadata.json', 'model.weights.h5'].includes(f.name)});
  } catch (e) {
    throw new Error(`${where}: the zip archive is damaged or truncated (${(e as Error).message}).`);
  }
  const missing = ['config.json', 'model.weights.h5'].filter((n) => !(n in files));
  if (missing.length) {
    throw new Error(`${where}: a .keras archive holds config.json and model.weights.h5, but ${missing.join(' and ')} ` +
      `${missing.length === 1 ? 'is' : 'are'} missing.`);
  }
  return {
    config: parseJson(files['config.json'] as Uint8Array, 'config.json', where),
    metadata: files['metadata.json'] ? parseJson(files['metadata.json'], 'metadata.json', where) : null,
    weights: files['model.weights.h5'] as Uint8Array,
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
